"""The key's owner never decides an exception on it (DESIGN.md "Exceptions"), in the database.

Each decision (a request becoming approved or rejected) records the key's resolved owner at
that moment in ``key_owner_at_decision``, and a check constraint refuses a decision whose
decider is that owner. On Postgres the owner is not taken from the application: a trigger
reads it from the key row as the decision is written (locking the row until commit, so an
ownership change cannot slip between the check and the decision), overwrites whatever the
statement supplied, refuses the decision when the decider is the owner, and keeps the
recorded owner unchanged by any later update. SQLite (the demo) gets refusing triggers; the
service records the owner there. Django's SQLite table rebuilds drop triggers: a later
migration that rebuilds this table there must recreate them.

Decisions recorded before this migration keep an empty ``key_owner_at_decision``: who owned
the key then is not known.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION governance_exception_key_owner_at_decision() RETURNS trigger AS $$
DECLARE
    key_owner governance_accesskey.owner_id%TYPE;
BEGIN
    IF NEW.status IN ('approved', 'rejected') AND (
            TG_OP = 'INSERT'
            OR OLD.status IS DISTINCT FROM NEW.status
            OR OLD.decided_by_id IS DISTINCT FROM NEW.decided_by_id
            OR OLD.key_id IS DISTINCT FROM NEW.key_id) THEN
        SELECT k.owner_id INTO key_owner FROM governance_accesskey k
            WHERE k.id = NEW.key_id FOR NO KEY UPDATE;
        NEW.key_owner_at_decision_id := key_owner;
        IF NEW.decided_by_id = key_owner THEN
            RAISE EXCEPTION 'the key''s owner (person %) cannot decide an exception on it', key_owner
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'exception_not_decided_by_key_owner',
                      TABLE = 'governance_exceptionrequest';
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        NEW.key_owner_at_decision_id := OLD.key_owner_at_decision_id;
    ELSE
        NEW.key_owner_at_decision_id := NULL;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_exception_key_owner_at_decision BEFORE INSERT OR UPDATE
    ON governance_exceptionrequest FOR EACH ROW
    EXECUTE FUNCTION governance_exception_key_owner_at_decision();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS governance_exception_key_owner_at_decision ON governance_exceptionrequest;
DROP FUNCTION IF EXISTS governance_exception_key_owner_at_decision();
"""
_OWNER = "(SELECT owner_id FROM governance_accesskey WHERE id = NEW.key_id)"
_REFUSE = "SELECT RAISE(ABORT, 'the key''s owner cannot decide an exception on it')"
SQLITE_UP = [
    f"""CREATE TRIGGER governance_exception_owner_decides_insert
        BEFORE INSERT ON governance_exceptionrequest
        WHEN NEW.status IN ('approved', 'rejected') AND NEW.decided_by_id = {_OWNER}
        BEGIN {_REFUSE}; END;""",
    f"""CREATE TRIGGER governance_exception_owner_decides_update
        BEFORE UPDATE ON governance_exceptionrequest
        WHEN NEW.status IN ('approved', 'rejected')
             AND (OLD.status IS NOT NEW.status OR OLD.decided_by_id IS NOT NEW.decided_by_id
                  OR OLD.key_id IS NOT NEW.key_id)
             AND NEW.decided_by_id = {_OWNER}
        BEGIN {_REFUSE}; END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS governance_exception_owner_decides_insert;",
               "DROP TRIGGER IF EXISTS governance_exception_owner_decides_update;"]


def forwards(apps, schema_editor):
    # params=None: the SQL goes to the database as written (no %-placeholders).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0011_audit_forwarding"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="exceptionrequest",
            name="key_owner_at_decision",
            field=models.ForeignKey(blank=True, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name="exceptionrequest",
            constraint=models.CheckConstraint(
                condition=~models.Q(status__in=["approved", "rejected"],
                                    decided_by=models.F("key_owner_at_decision")),
                name="exception_not_decided_by_key_owner"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
