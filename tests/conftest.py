"""Shared fixtures: AWS through in-process moto, driven by boto3 exactly as production is."""

from collections.abc import Callable
from contextlib import ExitStack, contextmanager

import boto3
import pytest
from moto import mock_aws

MANAGEMENT_ACCOUNT = "123456789012"


def fake_aws_credentials(monkeypatch) -> None:
    """Fake credentials so nothing can reach real AWS; never MOTO_ACCOUNT_ID (see NOTES)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials so nothing can reach real AWS; never MOTO_ACCOUNT_ID (see NOTES)."""
    fake_aws_credentials(monkeypatch)


@pytest.fixture
def aws(aws_env):
    """In-process moto for the test's duration."""
    with mock_aws():
        yield


def account_clients(account_id: str):
    """boto3 session acting inside ``account_id`` (moto: any assumed role lands there)."""
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/KeyledgerReader", RoleSessionName="tests",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name="us-east-1",
    )


@pytest.fixture
def register_account(db):
    """Register an AWS account to sync through the reader role, as add_account would."""

    from governance.models import AwsAccount

    def register(account_id: str, name: str = "", **fields) -> AwsAccount:
        return AwsAccount.objects.create(
            account_id=account_id, name=name or f"acct-{account_id[-4:]}",
            role_arn=f"arn:aws:iam::{account_id}:role/KeyledgerReader",
            external_id="keyledger-test", **fields,
        )

    return register


@pytest.fixture(scope="session")
def _moto_server():
    from demo.emulator import EmulatedAws

    emulator = EmulatedAws().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def moto_server(_moto_server, monkeypatch):
    """A moto server in this process, reached over HTTP through AWS_ENDPOINT_URL; wiped after."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in _moto_server.environment().items():
        monkeypatch.setenv(name, value)
    yield _moto_server
    _moto_server.reset()


# -- the audit log's TRUNCATE trigger and pytest-django's flush --------------------------------

@contextmanager
def audit_triggers_off(connection):
    """Ordinary triggers off for this session: ``session_replication_role = replica``.

    Test harness only. Transactional tests (``transaction=True``, live servers, Celery
    workers) are cleaned by ``manage.py flush``, whose TRUNCATE the audit log's trigger
    refuses (migration 0009). Rather than a hatch in the trigger, the harness uses a power
    Postgres keeps for superusers (the test suite connects as ``postgres``): the app role
    cannot set it (tests/governance/test_audit_protection.py proves that).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET session_replication_role")


@contextmanager
def shared_transaction(django_db_blocker):
    """A transaction around a module's (non-transactional) tests, for data written once that
    they all read, as Django's ``setUpTestData``: each test's own transaction nests in it (a
    savepoint, rolled back after the test), and it is rolled back after the last test, so
    nothing is committed and no ``on_commit`` hook runs, as inside a single test.

    Write the data inside ``django_db_blocker.unblock()`` before yielding to the tests.
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        block = transaction.atomic()
        block._from_testcase = True  # a durable block inside a test nests here, as in TestCase
        block.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            block.__exit__(None, None, None)


# Restorers to run instead of the next flush (see ``replace_next_flush``).
_instead_of_flush: list[Callable[[], None]] = []


def replace_next_flush(restore: Callable[[], None]) -> None:
    """After the current transactional test, call ``restore()`` instead of flushing.

    For a fixture that keeps a snapshot of the flushed database (tests/e2e's ``demo``):
    restoring it is cheaper than emptying every table and recreating the content types and
    permissions, and gives them the same ids each time. ``restore`` must leave the database
    as a flush would.
    """
    _instead_of_flush.append(restore)


def empty_tables(connection, tables=None) -> None:
    """Delete every row of ``tables`` (default: every model's, as ``manage.py flush``) in one
    round trip; call it with the audit log's triggers off (``audit_triggers_off``).

    DELETE, not flush's TRUNCATE: a test leaves few rows, and TRUNCATE makes new files for
    every table and index, about a second per transactional test on a loaded machine. The
    commit does not wait for the disk either: test data need not survive a crash.
    """
    from django.db import transaction

    quote = connection.ops.quote_name
    if tables is None:
        tables = connection.introspection.django_table_names(only_existing=True,
                                                             include_views=False)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute("; ".join(f"DELETE FROM {quote(table)}" for table in tables))


@pytest.fixture(scope="session", autouse=True)
def _flush_between_transactional_tests_empties_the_audit_log():
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections
    from django.test.testcases import TransactionTestCase

    flush = TransactionTestCase._fixture_teardown

    def fixture_teardown(self):
        if _instead_of_flush:
            restorers = list(_instead_of_flush)
            _instead_of_flush.clear()
            for restore in restorers:
                restore()
            return
        aliases = self._databases_names(include_mirrors=False)
        with ExitStack() as stack:
            for alias in aliases:
                stack.enter_context(audit_triggers_off(connections[alias]))
            if self.available_apps is not None or self.serialized_rollback or any(
                    connections[alias].vendor != "postgresql" for alias in aliases):
                flush(self)
                return
            for alias in aliases:  # flush's own steps, but emptying by DELETE
                empty_tables(connections[alias])
                emit_post_migrate_signal(verbosity=0, interactive=False, db=alias)

    TransactionTestCase._fixture_teardown = fixture_teardown
    yield
    TransactionTestCase._fixture_teardown = flush


@pytest.fixture
def people(db):
    """The personas of tests/factories.py: security, two managers, owners, a leaver.

    A module needing more around them overrides it as ``def people(people): ...``.
    """
    from tests.factories import personas

    return personas()
