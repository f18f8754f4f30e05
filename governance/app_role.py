"""The database role the web app, workers and beat run as.

It may read and write every table's rows except that audit events (and the verifications of
their hash chain) may only be appended and read: no UPDATE, DELETE or TRUNCATE on
``governance_auditevent`` or ``governance_auditverification``, and, not owning any table,
no ALTER TABLE, DROP TRIGGER or ``session_replication_role`` either (those need the owner or
a superuser). Migrations run as the tables' owner (``MIGRATE_DATABASE_URL``), which then runs
``app_role_setup``: idempotent, so the migrate step runs it after every ``migrate``.
"""

import re
from dataclasses import dataclass

from django.db import connections, transaction
from psycopg import sql

AUDIT_TABLE = "governance_auditevent"
# Append-only tables and the triggers that refuse UPDATE, DELETE and TRUNCATE on them.
APPEND_ONLY = {
    AUDIT_TABLE: ("governance_auditevent_no_update", "governance_auditevent_no_truncate"),
    "governance_auditverification": ("governance_auditverification_no_update",
                                     "governance_auditverification_no_truncate"),
}
# The app reads which migrations ran (Django's checks do) but never records one.
READ_ONLY_TABLES = ("django_migrations",)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class AppRoleError(Exception):
    """The app role cannot be set up safely; the message says why and what to change."""


@dataclass(frozen=True)
class AppRoleOutcome:
    role: str
    created: bool
    owner: str
    database: str
    # What the role may do on the audit table, as Postgres itself answers it afterwards.
    audit_privileges: dict[str, bool]


def app_role_setup(*, role: str, password: str | None = None,
                   using: str = "default") -> AppRoleOutcome:
    """Create ``role`` if it does not exist (LOGIN, nothing else), set its password when one
    is given, grant it every table's rows and every sequence, then take back UPDATE and
    DELETE on the append-only tables; the connection's own role (the owner) is never
    ``role``.

    Raises ``AppRoleError`` when the result could not protect the audit log: the role is the
    owner, a superuser or a member of the owner, or the audit table's triggers are missing.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise AppRoleError(f"{connection.vendor} has no database roles: nothing to set up.")
    if not ROLE_NAME.match(role):
        raise AppRoleError(f"{role!r} is not a plain role name (lower-case letters, digits "
                           "and _, at most 63).")
    with transaction.atomic(using=using):
        connection.ensure_connection()
        cursor = connection.connection.cursor()  # the raw cursor: the password is never logged
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        if role == owner:
            raise AppRoleError(
                f"the app role and the migrating role are both {role!r}: the app would own "
                "the audit log and could drop its protection. Point DATABASE_URL at a role of "
                "its own and MIGRATE_DATABASE_URL at the owner.")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        name = sql.Identifier(role)
        if found is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                   "NOREPLICATION NOBYPASSRLS").format(name))
        elif found[0]:
            raise AppRoleError(f"role {role!r} is a superuser: no grant or trigger can "
                               "protect the audit log from it. Use an ordinary role.")
        if password:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                name, sql.Literal(password)))
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
        if cursor.fetchone()[0]:
            raise AppRoleError(f"role {role!r} is a member of {owner!r}, the tables' owner, "
                               "and so has its powers. Revoke that membership.")
        for statement in _grants(name, sql.Identifier(owner), sql.Identifier(database),
                                 sql.Identifier(schema)):
            cursor.execute(statement)
        outcome = AppRoleOutcome(role=role, created=found is None, owner=owner,
                                 database=database,
                                 audit_privileges=_audit_privileges(cursor, role))
        _check(cursor, outcome)
    return outcome


def _grants(role, owner, database, schema) -> list[sql.Composed]:
    q = sql.SQL
    statements = [
        q("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, role),
        q("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role),
        q("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            schema, role),
        q("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {} FROM {}").format(
            schema, role),
        q("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, role),
        # Tables and sequences later migrations create are the app's too, before this runs
        # again; the audit table is taken back below on every run.
        q("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, "
          "DELETE ON TABLES TO {}").format(owner, schema, role),
        q("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE ON SEQUENCES "
          "TO {}").format(owner, schema, role),
    ]
    for table in map(sql.Identifier, APPEND_ONLY):
        statements += [q("REVOKE ALL ON {} FROM PUBLIC").format(table),
                       q("REVOKE UPDATE, DELETE ON {} FROM {}").format(table, role)]
    statements += [q("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
        sql.Identifier(table), role) for table in READ_ONLY_TABLES]
    return statements


def _audit_privileges(cursor, role: str, table: str = AUDIT_TABLE) -> dict[str, bool]:
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
    cursor.execute("SELECT " + ", ".join(
        "has_table_privilege(%s, %s, %s)" for _ in privileges),
        [value for p in privileges for value in (role, table, p)])
    return dict(zip(privileges, cursor.fetchone(), strict=True))


def _check(cursor, outcome: AppRoleOutcome) -> None:
    wanted = {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False,
              "TRUNCATE": False, "TRIGGER": False}
    for table, triggers in APPEND_ONLY.items():
        privileges = _audit_privileges(cursor, outcome.role, table)
        if privileges != wanted:
            wrong = sorted(p for p, allowed in privileges.items() if allowed != wanted[p])
            raise AppRoleError(f"role {outcome.role!r} still has the wrong privileges on "
                               f"{table} ({', '.join(wrong)}): granted through another role?")
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                       "AND tgenabled = 'O'", [table])
        enabled = {row[0] for row in cursor.fetchall()}
        missing = [t for t in triggers if t not in enabled]
        if missing:
            raise AppRoleError(f"{table}'s triggers are missing or disabled: "
                               f"{', '.join(missing)}. Run migrate first; re-enable them with "
                               f"ALTER TABLE {table} ENABLE TRIGGER ...")
