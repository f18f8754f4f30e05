"""What a sync costs, guarded: AWS calls per account, rows written, queries per account sync.

The figures `make bench` reports (bench/sync_cost.py) at 20 accounts x 300 users are kept
honest here at a size that runs in seconds: first sync at most one ListAccessKeys per key
holder plus a constant, an unchanged re-sync a constant with no row written, and what the
re-sync skips is caught by the full listing.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from moto.iam.models import AccessKeyLastUsed, iam_backends

from demo.seed import DEMO_EXTERNAL_ID, seed_organization
from governance.aws.collector import slots_describe
from governance.aws.credential_report import KeySlot, ReportRow
from governance.aws.snapshots import KeySnapshot
from governance.models import AccessKey, AccessKeyEvent, AwsAccount, SyncRun
from governance.sync import sync_account
from tests.conftest import account_clients

pytestmark = pytest.mark.django_db

# AssumeRole, the authorization details, the report, summary, CloudTrail; GetPolicy +
# GetPolicyVersion for each AWS-managed policy the demo attaches (AdministratorAccess,
# AWSCompromisedKeyQuarantineV2) when this process has not fetched it yet; and the OIDC
# providers (issue 17): one ListOpenIDConnectProviders plus a GetOpenIDConnectProvider per
# provider, which is 2 for the demo's prod account (GitHub Actions). Was 12 before them.
CONSTANT_CALLS = 14
OIDC_PROVIDER_CALLS = {"iam:ListOpenIDConnectProviders": 1, "iam:GetOpenIDConnectProvider": 1}


def demo_account(users: int) -> AwsAccount:
    """One account of the demo generator (the prod mix: every kind of key), registered."""
    org = seed_organization(users_per_account=users, accounts=1)
    demo = org.accounts[0]
    return AwsAccount.objects.create(
        account_id=demo.account_id, name=f"{demo.name}-{demo.account_id[-4:]}",
        external_id=DEMO_EXTERNAL_ID,
        role_arn=f"arn:aws:iam::{demo.account_id}:role/{org.reader_role_name}")


def synced(account: AwsAccount, **options) -> SyncRun:
    run = sync_account(account=account, **options).run
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def key_holders(account: AwsAccount) -> int:
    return (AccessKey.objects.filter(account=account, access_key_id__isnull=False)
            .values("user").distinct().count())


def list_calls(run: SyncRun) -> int:
    return run.aws_calls_by_action.get("iam:ListAccessKeys", 0)


def user_with_one_key(account: AwsAccount) -> tuple[str, str]:
    """(user name, key id) of a demo user holding exactly one present key."""
    key = (AccessKey.objects.filter(account=account, access_key_id__isnull=False,
                                    removed_at__isnull=True, user__name__startswith="reporting-etl")
           .select_related("user").first())
    return key.user.name, key.access_key_id


# -- first sync and unchanged re-sync ----------------------------------------------------------

def test_first_sync_lists_each_key_holder_once_plus_a_constant(aws):
    account = demo_account(users=60)

    run = synced(account)

    holders = key_holders(account)
    assert holders > 40
    assert list_calls(run) == holders
    assert run.aws_calls <= holders + CONSTANT_CALLS
    assert "iam:GetAccessKeyLastUsed" not in run.aws_calls_by_action  # the report sufficed


def test_unchanged_resync_costs_a_constant_and_writes_nothing(aws):
    account = demo_account(users=60)
    synced(account)

    again = synced(account)

    assert again.aws_calls <= CONSTANT_CALLS
    assert {action: again.aws_calls_by_action.get(action)
            for action in OIDC_PROVIDER_CALLS} == OIDC_PROVIDER_CALLS  # one list, one get each
    assert list_calls(again) == 0
    assert again.rows_written == 0
    assert (again.keys_created, again.keys_updated, again.keys_removed) == (0, 0, 0)


def test_queries_per_account_sync_do_not_grow_with_users(aws):
    # warm: every template's shared documents and AWS-managed policies stored (the prod mix
    # has 16 templates; the 16th attaches the quarantine policy)
    synced(demo_account(users=20))

    def queries(users: int) -> tuple[int, int]:
        account = demo_account(users=users)
        with CaptureQueriesContext(connection) as first:
            synced(account)
        with CaptureQueriesContext(connection) as again:
            synced(account)
        return len(first.captured_queries), len(again.captured_queries)

    assert queries(15) == queries(90)


# -- what the re-sync skips, and what still makes it list --------------------------------------

def test_rotation_changes_the_slots_so_the_user_is_listed(aws):
    account = demo_account(users=30)
    synced(account)
    name, old_key = user_with_one_key(account)
    iam = account_clients(account.account_id).client("iam")

    new_key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    rotated = synced(account)
    iam.update_access_key(UserName=name, AccessKeyId=old_key, Status="Inactive")
    deactivated = synced(account)
    iam.delete_access_key(UserName=name, AccessKeyId=old_key)
    retired = synced(account)

    assert (list_calls(rotated), rotated.keys_created) == (1, 1)
    assert AccessKey.objects.get(access_key_id=new_key).removed_at is None
    assert (list_calls(deactivated), deactivated.keys_updated) == (1, 1)
    assert (list_calls(retired), retired.keys_removed) == (1, 1)
    assert AccessKey.objects.get(access_key_id=old_key).removed_at is not None


def test_new_user_with_a_key_is_listed_and_nobody_else(aws):
    account = demo_account(users=30)
    synced(account)
    iam = account_clients(account.account_id).client("iam")
    iam.create_user(UserName="late-arrival")
    key_id = iam.create_access_key(UserName="late-arrival")["AccessKey"]["AccessKeyId"]

    run = synced(account)

    assert (list_calls(run), run.keys_created) == (1, 1)
    assert AccessKey.objects.get(access_key_id=key_id).user.name == "late-arrival"


def replace_key_in_the_same_second(account: AwsAccount, name: str, old_key: str) -> str:
    """Delete ``old_key`` and create another whose creation second is the same (backdated)."""
    iam = account_clients(account.account_id).client("iam")
    backend = iam_backends[account.account_id]["aws"]
    created = backend.access_keys[old_key].create_date
    iam.delete_access_key(UserName=name, AccessKeyId=old_key)
    new_key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    backend.access_keys[new_key].create_date = created
    backend.access_keys[new_key].last_used = None
    return new_key


def test_key_replaced_unseen_by_the_report_is_caught_by_the_full_listing(aws, settings):
    settings.KEYLEDGER_FULL_LISTING_HOURS = 24
    account = demo_account(users=30)
    synced(account)
    name, old_key = user_with_one_key(account)
    AccessKey.objects.filter(access_key_id=old_key).update(last_used_at=None)  # never used
    iam_backends[account.account_id]["aws"].access_keys[old_key].last_used = None
    new_key = replace_key_in_the_same_second(account, name, old_key)

    skipped = synced(account)
    assert (list_calls(skipped), skipped.keys_removed) == (0, 0)  # the report looks the same

    AwsAccount.objects.filter(pk=account.pk).update(
        keys_listed_at=datetime.now(UTC) - timedelta(hours=25))
    account.refresh_from_db()
    full = synced(account)

    assert list_calls(full) == key_holders(account)
    assert (full.keys_removed, full.keys_created) == (1, 1)
    assert AccessKey.objects.get(access_key_id=old_key).removed_at is not None
    assert AccessKey.objects.get(access_key_id=new_key).events.filter(
        kind=AccessKeyEvent.Kind.APPEARED, sync_run=full).exists()
    account.refresh_from_db()
    assert account.keys_listed_at == full.started_at
    assert list_calls(synced(account)) == 0  # and the next one is cheap again


def test_full_listing_on_demand_lists_every_key_holder(aws):
    account = demo_account(users=30)
    synced(account)

    run = synced(account, full_listing=True)

    assert list_calls(run) == key_holders(account)
    assert run.rows_written == 0


def test_replaced_key_that_had_been_used_is_listed_at_once(aws):
    """The slot's last use went backwards: another key holds it, whatever the dates say."""
    account = demo_account(users=30)
    synced(account)
    name, old_key = user_with_one_key(account)
    backend = iam_backends[account.account_id]["aws"]
    backend.access_keys[old_key].last_used = AccessKeyLastUsed(
        timestamp=datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=2),
        service="s3", region="eu-west-1")
    synced(account)
    new_key = replace_key_in_the_same_second(account, name, old_key)

    run = synced(account)

    assert (list_calls(run), run.keys_removed, run.keys_created) == (1, 1, 1)
    assert AccessKey.objects.get(access_key_id=new_key).removed_at is None


# -- the slot comparison itself --------------------------------------------------------------

T1 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
T2 = datetime(2024, 6, 1, 8, 30, 15, tzinfo=UTC)
USED = datetime(2024, 7, 1, 9, 0, 0, tzinfo=UTC)


def slot(n, active=True, rotated=None, used=None) -> KeySlot:
    return KeySlot(slot=n, active=active, last_rotated=rotated, last_used_at=used,
                   last_used_region="", last_used_service="")


def row(*slots) -> ReportRow:
    slots = slots + tuple(slot(n, active=False) for n in range(len(slots) + 1, 3))
    return ReportRow(user="svc", arn="arn", created_at=None, password_enabled=False,
                     password_last_used_at=None, slots=slots)


def stored(key_id, created, status="Active", used=None) -> KeySnapshot:
    return KeySnapshot(user_id="U", access_key_id=key_id, status=status, created_at=created,
                       last_used_at=used)


@pytest.mark.parametrize(("report", "keys", "same"), [
    (row(slot(1, rotated=T1, used=USED)), [stored("A", T1.replace(microsecond=7), used=USED)],
     True),
    (row(slot(1, active=False, rotated=T1), slot(2, rotated=T2)),
     [stored("B", T2), stored("A", T1, "Inactive")], True),  # slot order does not matter
    (row(), [], True),
    (row(slot(1, rotated=T1)), [stored("A", T1, "Inactive")], False),  # status changed
    (row(slot(1, rotated=T1), slot(2, rotated=T2)), [stored("A", T1)], False),  # a new key
    (row(slot(1, rotated=T2)), [stored("A", T1)], False),  # rotated
    (row(), [stored("A", T1)], False),  # deleted
    (row(slot(1, rotated=None)), [stored("A", T1)], False),  # active but N/A: unreadable
    (row(slot(1, rotated=T1), slot(2, rotated=T1)), [stored("A", T1), stored("B", T1)],
     False),  # two keys in one second: which is which is a guess
    (row(slot(1, rotated=T1, used=None)), [stored("A", T1, used=USED)], False),  # use reset
    (row(slot(1, rotated=T1, used=T1)), [stored("A", T1, used=USED)], False),  # use older
    (row(slot(1, rotated=T1)), [stored("A", None)], False),
], ids=["same", "two-slots-any-order", "no-keys", "deactivated", "added", "rotated",
        "deleted", "n-a-rotation", "same-second", "use-vanished", "use-older", "no-date"])
def test_slots_describe_the_stored_keys_only_when_nothing_can_have_changed(report, keys, same):
    assert slots_describe(report, keys) is same
