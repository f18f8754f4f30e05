"""The audit log's protection on the real Postgres, against the roles that would attack it.

The app (web, workers, beat) connects as a role ``setup_app_role`` made: it may append to and
read the audit log, and nothing else there. Every way round the row triggers the review
found (TRUNCATE, disabling or dropping the triggers, replica mode, replacing the trigger
function) fails for that role; TRUNCATE and ``manage.py flush`` fail for the owner too, and
migrating back to before the protection is refused. The app itself still does its work.

The role is made once per run with a unique name (roles are cluster-wide); the attacks run on
their own psycopg connections, outside the test's transaction.
"""

import io
import os
import secrets
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3
import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from moto.iam.models import iam_backends
from psycopg import sql

from accounts.models import Person
from accounts.tokens import api_token_create
from core.audit import audit, audit_chain_verify
from governance.app_role import AppRoleError, app_role_setup
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AuditEvent, AuditForwarding, SyncRun
from governance.services.accounts import account_add, account_set_enabled
from governance.services.exceptions import exception_approve, exception_request
from governance.services.keys import owner_assign
from governance.sync import sync_account
from tests.conftest import account_clients
from tests.factories import personas

ACCOUNT = "555555555555"


def connect_as(role: str) -> psycopg.Connection:
    """A connection of the test database's own, as ``role`` (trust auth on the test server)."""
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                           dbname=db["NAME"], user=role, autocommit=True)


@pytest.fixture(scope="session")
def app_role(django_db_setup, django_db_blocker):
    """A role set up exactly as the migrate step sets up the deployed one."""
    name = f"keyledger_app_test_{os.getpid()}_{secrets.token_hex(3)}"
    with django_db_blocker.unblock():
        app_role_setup(role=name)
    yield name
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name))
                       .as_string(connection.connection))
        cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name))
                       .as_string(connection.connection))


@contextmanager
def django_connected_as(role: str):
    """Every ORM query inside the block runs on a new connection as ``role``."""
    connection.close()
    saved = connection.settings_dict["USER"]
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved


def one_event(summary: str = "original") -> AuditEvent:
    return audit(actor=None, action="test.write", object_type="X", object_id="1",
                 summary=summary)


ATTACKS = {
    "truncate": "TRUNCATE governance_auditevent",
    "truncate cascade": "TRUNCATE governance_auditevent CASCADE",
    "update": "UPDATE governance_auditevent SET summary = 'rewritten'",
    "delete": "DELETE FROM governance_auditevent",
    "disable the triggers": "ALTER TABLE governance_auditevent DISABLE TRIGGER ALL",
    "disable the row trigger":
        "ALTER TABLE governance_auditevent DISABLE TRIGGER governance_auditevent_no_update",
    "replica mode": "SET session_replication_role = replica",
    "drop the row trigger":
        "DROP TRIGGER governance_auditevent_no_update ON governance_auditevent",
    "drop the truncate trigger":
        "DROP TRIGGER governance_auditevent_no_truncate ON governance_auditevent",
    "replace the trigger function":
        "CREATE OR REPLACE FUNCTION governance_auditevent_append_only() RETURNS trigger AS "
        "$$ BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql",
    "drop the table": "DROP TABLE governance_auditevent",
    "take the table": "ALTER TABLE governance_auditevent RENAME TO old_audit",
    "rewrite a verification": "UPDATE governance_auditverification SET ok = true",
    "delete the verifications": "DELETE FROM governance_auditverification",
    "truncate the verifications": "TRUNCATE governance_auditverification",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attack", ATTACKS)
def test_the_app_role_cannot_empty_rewrite_or_unprotect_the_audit_log(app_role, attack):
    event = one_event()

    with connect_as(app_role) as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute(ATTACKS[attack])

    assert list(AuditEvent.objects.values_list("pk", "summary")) == [(event.pk, "original")]


@pytest.mark.django_db(transaction=True)
def test_the_app_role_appends_and_reads_audit_events(app_role):
    one_event("written by the owner")
    with connect_as(app_role) as app:
        app.execute("INSERT INTO governance_auditevent (actor_label, action, object_type, "
                    "object_id, summary, at) "
                    "VALUES ('system', 'test.raw', 'X', '2', 'raw insert', now())")
        rows = app.execute("SELECT summary FROM governance_auditevent ORDER BY id").fetchall()
    assert rows == [("written by the owner",), ("raw insert",)]


@pytest.mark.django_db(transaction=True)
def test_the_app_does_its_work_as_the_app_role(app_role, aws, client, settings):
    """Sync, evaluation, every kind of governance decision, sign-in, the pages, verifying
    the chain and shipping to the sink, with the ORM connected as the app role: the grants
    are enough for everything the app does."""
    iam = account_clients(ACCOUNT).client("iam")
    iam.create_user(UserName="deploy", Tags=[{"Key": "owner", "Value": "owner@example.com"}])
    key_id = iam.create_access_key(UserName="deploy")["AccessKey"]["AccessKeyId"]
    iam_backends[ACCOUNT]["aws"].access_keys[key_id].create_date = (
        datetime.now(UTC).replace(microsecond=0) - timedelta(days=200))
    boto3.client("s3", region_name="us-east-1").create_bucket(
        Bucket="keyledger-audit-archive", ObjectLockEnabledForBucket=True)
    settings.KEYLEDGER_AUDIT_SINK = "s3"  # each decision is shipped after commit, as the app
    settings.KEYLEDGER_AUDIT_SINK_BUCKET = "keyledger-audit-archive"

    with django_connected_as(app_role):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role
        people = personas()
        account = account_add(actor=people["security"], account_id=ACCOUNT, name="prod",
                              role_arn=f"arn:aws:iam::{ACCOUNT}:role/KeyledgerReader",
                              external_id="keyledger-test")
        assert sync_account(account=account).run.status == SyncRun.Status.SUCCEEDED
        evaluate_keys()
        key = AccessKey.objects.get(access_key_id=key_id)
        owner_assign(actor=people["security"], key=key, person=people["owner"])
        exception = exception_request(
            actor=people["owner"], key=key, code="ROTATION_OVERDUE", justification="freeze",
            expires_on=timezone.localdate() + timedelta(days=10))
        exception_approve(actor=people["manager"], exception=exception, note="ok")
        api_token_create(actor=people["owner"], name="ci", days=30)
        account_set_enabled(actor=people["security"], account=account, enabled=False)

        failed = client.post(reverse("login"), {"username": "sec@example.com",
                                                "password": "wrong"})  # axes records it
        assert failed.status_code == 200
        client.force_login(people["security"])
        for url in (reverse("overview"), reverse("inventory"), reverse("audit-log"),
                    reverse("key-detail", args=[key.pk]), "/api/v1/keys/"):
            assert client.get(url).status_code == 200, url
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert audit_chain_verify().ok
        call_command("verify_audit", stdout=io.StringIO())
        newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        assert AuditForwarding.objects.get().last_event_id == newest

    assert {"account.add", "key.assign_owner", "exception.request", "exception.approve",
            "api_token.create", "account.disable"} <= actions
    assert Person.objects.filter(email="owner@example.com").exists()


@pytest.mark.django_db(transaction=True)
def test_the_owner_cannot_truncate_the_audit_log_either():
    event = one_event()
    with pytest.raises(DatabaseError, match=r"append-only \(TRUNCATE refused\)"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE governance_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_manage_py_flush_is_refused_and_empties_nothing():
    people = personas()
    event = one_event()
    with pytest.raises(CommandError, match="couldn't be flushed") as refused:
        call_command("flush", interactive=False, verbosity=0)
    assert "append-only (TRUNCATE refused)" in str(refused.value.__cause__)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert Person.objects.filter(pk=people["owner"].pk).exists()  # one statement: all or none


PROTECTIONS = {"0004_audit_append_only", "0009_audit_no_truncate", "0010_audit_hash_chain"}


@pytest.mark.django_db
def test_migrating_back_to_before_the_protection_is_refused():
    """``migrate governance 0003`` (before the row trigger) or ``0008`` (before the TRUNCATE
    trigger and the chain): each migration that protects the log cannot be reversed, so
    migrate stops (IrreversibleError, its transaction rolled back) before undoing one."""
    executor = MigrationExecutor(connection)
    for target in ("0003_compliance_choices", "0008_search_trigram_indexes"):
        plan = executor.migration_plan([("governance", target)])
        undone = [migration.name for migration, backwards in plan if backwards]
        assert PROTECTIONS & set(undone), target
        for migration, _backwards in plan:
            if migration.name in PROTECTIONS:
                assert not all(op.reversible for op in migration.operations), migration.name


@pytest.mark.django_db
def test_setup_app_role_refuses_a_role_that_could_drop_the_protection():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="both 'postgres'|both"):
        call_command("setup_app_role", role=owner)
    superuser = f"keyledger_su_test_{secrets.token_hex(3)}"
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f'CREATE ROLE "{superuser}" SUPERUSER')
    with pytest.raises(AppRoleError, match="is a superuser"):
        app_role_setup(role=superuser)
    member = f"keyledger_member_test_{secrets.token_hex(3)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{member}" IN ROLE "{owner}"')
    with pytest.raises(AppRoleError, match="is a member of"):
        app_role_setup(role=member)


@pytest.mark.django_db
def test_setup_app_role_is_idempotent(app_role):
    first = app_role_setup(role=app_role)
    again = app_role_setup(role=app_role)
    assert (first.created, again.created) == (False, False)
    assert again.audit_privileges == {"SELECT": True, "INSERT": True, "UPDATE": False,
                                      "DELETE": False, "TRUNCATE": False, "TRIGGER": False}
