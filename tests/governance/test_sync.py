"""The sync service end to end on in-process moto: what it stores, what it costs, how it fails."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moto.iam.models import iam_backends

from governance.aws.session import client_hooks
from governance.models import AccessKey, AccessKeyEvent, IamUser, PolicyDocument, SyncRun
from governance.sync import SyncAlreadyRunning, begin_run, expire_abandoned_runs, sync_account
from tests.conftest import account_clients

pytestmark = pytest.mark.django_db

ACCOUNT = "222222222222"
ADMIN = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


def make_users(account_id: str, with_keys: int, without_keys: int = 0) -> list[str]:
    """Create IAM users in moto; returns the access key ids created."""
    iam = account_clients(account_id).client("iam")
    key_ids = []
    for n in range(with_keys):
        iam.create_user(UserName=f"svc-{n}", Tags=[{"Key": "owner", "Value": f"o{n}@example.com"}])
        key_ids.append(iam.create_access_key(UserName=f"svc-{n}")["AccessKey"]["AccessKeyId"])
    for n in range(without_keys):
        iam.create_user(UserName=f"person-{n}")
    return key_ids


def test_first_sync_stores_users_keys_and_facts(aws, register_account):
    iam = account_clients(ACCOUNT).client("iam")
    key_ids = make_users(ACCOUNT, with_keys=2, without_keys=1)
    iam.put_user_policy(UserName="svc-0", PolicyName="admin", PolicyDocument=ADMIN)
    backend = iam_backends[ACCOUNT]["aws"]
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    backend.access_keys[key_ids[0]].create_date = created
    account = register_account(ACCOUNT)

    run = sync_account(account=account).run

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.users_seen, run.users_created, run.keys_seen, run.keys_created) == (3, 3, 2, 2)
    key = AccessKey.objects.get(access_key_id=key_ids[0])
    assert key.created_at == created
    assert key.user.name == "svc-0" and key.user.tags == {"owner": "o0@example.com"}
    assert key.user.policies[0]["source"] == "user-inline"
    document = PolicyDocument.objects.get(digest=key.user.policies[0]["digest"]).document
    assert document["Statement"][0]["Action"] == "*"
    account.refresh_from_db()
    assert account.last_synced_at == run.finished_at
    assert account.root_keys_present is False and account.cloudtrail_logging is False
    assert set(AccessKeyEvent.objects.values_list("kind", flat=True)) == {"appeared"}


def test_unchanged_resync_writes_no_rows_and_lists_no_keys(aws, register_account):
    users_with_keys = 12
    make_users(ACCOUNT, with_keys=users_with_keys, without_keys=5)
    account = register_account(ACCOUNT)
    first = sync_account(account=account).run
    assert first.status == SyncRun.Status.SUCCEEDED

    with CaptureQueriesContext(connection) as queries:
        second = sync_account(account=account).run

    assert second.status == SyncRun.Status.SUCCEEDED
    assert second.rows_written == 0
    assert (second.keys_created, second.keys_updated, second.users_updated) == (0, 0, 0)
    assert first.aws_calls_by_action["iam:ListAccessKeys"] == users_with_keys
    assert "iam:ListAccessKeys" not in second.aws_calls_by_action
    assert second.aws_calls <= 10
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
              and "governance_syncrun" not in q["sql"] and "governance_awsaccount" not in q["sql"]]
    assert writes == []


def test_queries_per_sync_do_not_grow_with_keys(aws, register_account):
    def queries_for(account_id: str, users: int) -> int:
        make_users(account_id, with_keys=users)
        account = register_account(account_id)
        with CaptureQueriesContext(connection) as queries:
            assert sync_account(account=account).run.status == SyncRun.Status.SUCCEEDED
        return len(queries.captured_queries)

    assert queries_for("333333333333", 3) == queries_for("444444444444", 40)


def test_deleted_key_is_marked_removed_not_deleted(aws, register_account):
    key_ids = make_users(ACCOUNT, with_keys=2)
    account = register_account(ACCOUNT)
    sync_account(account=account)
    account_clients(ACCOUNT).client("iam").delete_access_key(UserName="svc-1",
                                                             AccessKeyId=key_ids[1])

    run = sync_account(account=account).run

    assert run.keys_removed == 1
    gone = AccessKey.objects.get(access_key_id=key_ids[1])
    assert gone.removed_at is not None
    assert gone.events.filter(kind=AccessKeyEvent.Kind.REMOVED).count() == 1
    assert AccessKey.objects.get(access_key_id=key_ids[0]).removed_at is None


def test_deleted_user_is_marked_removed(aws, register_account):
    make_users(ACCOUNT, with_keys=0, without_keys=2)
    account = register_account(ACCOUNT)
    sync_account(account=account)
    account_clients(ACCOUNT).client("iam").delete_user(UserName="person-1")

    assert sync_account(account=account).run.users_removed == 1
    assert IamUser.objects.get(name="person-1").removed_at is not None


def test_status_change_is_recorded_with_its_time(aws, register_account):
    key_ids = make_users(ACCOUNT, with_keys=1)
    account = register_account(ACCOUNT)
    sync_account(account=account)
    account_clients(ACCOUNT).client("iam").update_access_key(
        UserName="svc-0", AccessKeyId=key_ids[0], Status="Inactive")

    run = sync_account(account=account).run

    key = AccessKey.objects.get(access_key_id=key_ids[0])
    assert key.status == AccessKey.Status.INACTIVE
    assert run.started_at <= key.status_changed_at <= run.finished_at
    assert key.events.filter(kind=AccessKeyEvent.Kind.DEACTIVATED, sync_run=run).exists()


def test_failed_collection_keeps_stored_data_and_says_why(aws, register_account):
    key_ids = make_users(ACCOUNT, with_keys=2)
    account = register_account(ACCOUNT)
    sync_account(account=account)
    account_clients(ACCOUNT).client("iam").delete_access_key(UserName="svc-1",
                                                             AccessKeyId=key_ids[1])

    def deny_list_keys(account_id, client):
        def deny(**_kwargs):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                              "ListAccessKeys")
        client.meta.events.register("before-call.iam.ListAccessKeys", deny)

    with client_hooks(deny_list_keys):  # full: svc-0's unchanged slots are listed too
        run = sync_account(account=account, full_listing=True).run

    assert run.status == SyncRun.Status.FAILED
    assert run.failure_kind == SyncRun.FailureKind.ACCESS_DENIED
    assert "iam:ListAccessKeys" in run.error
    assert AccessKey.objects.filter(removed_at__isnull=True).count() == 2
    assert run.aws_calls >= 3


def test_second_sync_of_a_busy_account_is_refused(aws, register_account):
    account = register_account(ACCOUNT)
    running = begin_run(account=account, trigger=SyncRun.Trigger.MANUAL)

    with pytest.raises(SyncAlreadyRunning) as refused:
        sync_account(account=account)

    assert refused.value.run.pk == running.pk
    assert "already running" in str(refused.value)


def test_abandoned_run_expires_and_releases_the_account(aws, register_account, settings):
    account = register_account(ACCOUNT)
    stale = begin_run(account=account, trigger=SyncRun.Trigger.SCHEDULE)
    SyncRun.objects.filter(pk=stale.pk).update(
        heartbeat_at=stale.heartbeat_at
        - timedelta(seconds=settings.KEYLEDGER_SYNC_LOCK_SECONDS + 1)
    )

    run = sync_account(account=account).run

    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED
    assert stale.failure_kind == SyncRun.FailureKind.ABANDONED
    assert run.status == SyncRun.Status.SUCCEEDED
    assert expire_abandoned_runs() == 0
