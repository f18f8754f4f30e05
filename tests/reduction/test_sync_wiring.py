"""Issue 17 wired into the sync: each account's OIDC providers are read with it, a plan is done
when a sync sees its key deleted, and Identity Center is read once per round."""

import io
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.utils import timezone

import governance.tasks as tasks
from accounts.models import Person
from governance.aws.session import client_hooks
from governance.models import AccessKey, AuditEvent, SyncRun
from governance.sync import IdentityCenterRead, identity_center_round, sync_account
from reduction.models import IdentityCenterPerson, MigrationPlan, OidcProviderListing
from reduction.services import plan_open
from tests.conftest import account_clients
from tests.factories import PersonFactory

from .conftest import PROD

pytestmark = pytest.mark.django_db
GITHUB = "https://token.actions.githubusercontent.com"


def synced(account) -> SyncRun:
    run = sync_account(account=account).run
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def owned_keys(account_id: str, owner: str, count: int) -> list[str]:
    """IAM users tagged with ``owner``, one key each; returns the key ids."""
    iam = account_clients(account_id).client("iam")
    key_ids = []
    for n in range(count):
        iam.create_user(UserName=f"svc-{n}", Tags=[{"Key": "owner", "Value": owner}])
        key_ids.append(iam.create_access_key(UserName=f"svc-{n}")["AccessKey"]["AccessKeyId"])
    return key_ids


def deny(action: str):
    """A client hook making ``action`` AccessDenied, as a missing permission would."""
    service, name = action.split(":")

    def hook(_account_id, client):
        def refuse(**_kwargs):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                              name)
        client.meta.events.register(f"before-call.{service}.{name}", refuse)
    return hook


# -- OIDC providers, read with each account ----------------------------------------------------

def test_a_sync_stores_the_accounts_oidc_providers_and_sees_one_go(aws, register_account):
    iam = account_clients(PROD).client("iam")
    arn = iam.create_open_id_connect_provider(
        Url=GITHUB, ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])["OpenIDConnectProviderArn"]
    account = register_account(PROD)

    first = synced(account)
    listing = OidcProviderListing.objects.get(account=account)
    assert listing.issuers == ("token.actions.githubusercontent.com",)
    assert listing.providers[0]["client_ids"] == ["sts.amazonaws.com"]
    assert first.aws_calls_by_action["iam:GetOpenIDConnectProvider"] == 1

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    synced(account)

    assert OidcProviderListing.objects.get(account=account).providers == []  # read: none


def test_unreadable_oidc_providers_fail_the_sync_and_keep_what_was_stored(
        aws, register_account):
    account = register_account(PROD)
    synced(account)
    account_clients(PROD).client("iam").create_open_id_connect_provider(
        Url=GITHUB, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])

    with client_hooks(deny("iam:ListOpenIDConnectProviders")):
        run = sync_account(account=account).run

    assert run.status == SyncRun.Status.FAILED
    assert run.failure_kind == SyncRun.FailureKind.ACCESS_DENIED
    assert "iam:ListOpenIDConnectProviders" in run.error
    assert OidcProviderListing.objects.get(account=account).providers == []


def test_an_unchanged_listing_is_not_written_again(aws, register_account):
    account = register_account(PROD)
    synced(account)
    read_at = OidcProviderListing.objects.get(account=account).read_at

    synced(account)

    assert OidcProviderListing.objects.get(account=account).read_at == read_at


# -- plans closed by the sync that sees the key gone -------------------------------------------

def test_a_plan_is_done_when_a_sync_sees_its_key_deleted(aws, register_account):
    owner = PersonFactory(email="jane.doe@example.com")
    gone_id, kept_id = owned_keys(PROD, owner.email, 2)
    account = register_account(PROD)
    synced(account)
    target = timezone.localdate() + timedelta(days=30)
    gone = plan_open(actor=owner, key=AccessKey.objects.get(access_key_id=gone_id),
                     path="oidc_federation", target_date=target)
    kept = plan_open(actor=owner, key=AccessKey.objects.get(access_key_id=kept_id),
                     path="iam_role", target_date=target)
    account_clients(PROD).client("iam").delete_access_key(UserName="svc-0",
                                                          AccessKeyId=gone_id)

    run = synced(account)

    gone.refresh_from_db()
    kept.refresh_from_db()
    assert gone.state == MigrationPlan.State.DONE
    assert gone.done_at is not None and run.started_at <= gone.done_at <= run.finished_at
    assert kept.state == MigrationPlan.State.PLANNED
    event = AuditEvent.objects.get(action="plan.done")
    assert event.object_id == str(gone.pk) and event.actor is None


def test_a_failed_sync_closes_no_plan(aws, register_account):
    owner = PersonFactory(email="jane.doe@example.com")
    (key_id,) = owned_keys(PROD, owner.email, 1)
    account = register_account(PROD)
    synced(account)
    plan = plan_open(actor=owner, key=AccessKey.objects.get(access_key_id=key_id),
                     path="iam_role", target_date=timezone.localdate() + timedelta(days=9))
    account_clients(PROD).client("iam").delete_access_key(UserName="svc-0", AccessKeyId=key_id)

    with client_hooks(deny("iam:GetOpenIDConnectProvider")), \
            client_hooks(deny("iam:ListOpenIDConnectProviders")):
        failed = sync_account(account=account).run

    plan.refresh_from_db()
    assert failed.status == SyncRun.Status.FAILED
    assert plan.state == MigrationPlan.State.PLANNED
    assert AccessKey.objects.get(access_key_id=key_id).removed_at is None


# -- Identity Center, once per round -------------------------------------------------------

def test_identity_center_is_not_read_unless_its_role_is_set(aws, settings):
    settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN = ""

    assert identity_center_round() is None


def test_the_round_reads_identity_center_for_the_key_owners(directory, register_account):
    PersonFactory(email="jane.doe@example.com")
    owned_keys(PROD, "jane.doe@example.com", 1)
    synced(register_account(PROD))

    assert identity_center_round() == IdentityCenterRead(people=1)
    assert IdentityCenterPerson.objects.get().user_id == directory.user_ids["jane"]


def test_a_failed_identity_center_read_is_reported_and_keeps_the_last_one(
        directory, register_account, caplog):
    PersonFactory(email="jane.doe@example.com")
    owned_keys(PROD, "jane.doe@example.com", 1)
    synced(register_account(PROD))
    identity_center_round()

    with client_hooks(deny("identitystore:ListUsers")):
        read = identity_center_round()

    assert read is not None and read.people == 0
    assert read.error.startswith("access_denied") and "ListUsers" in read.error
    assert "Identity Center read failed" in caplog.text
    assert IdentityCenterPerson.objects.get().user_id == directory.user_ids["jane"]


def test_sync_accounts_reads_identity_center_once_and_its_failure_keeps_exit_0(
        directory, register_account):
    Person.objects.create(email="jane.doe@example.com", name="Jane Doe")
    owned_keys(PROD, "jane.doe@example.com", 1)
    register_account(PROD)
    out = io.StringIO()

    call_command("sync_accounts", stdout=out)
    with client_hooks(deny("identitystore:ListUsers")):
        call_command("sync_accounts", stdout=(failed := io.StringIO()))  # no SystemExit

    assert out.getvalue().splitlines()[-2:] == ["1 of 1 accounts synced",
                                                "Identity Center: read 1 key owners"]
    assert failed.getvalue().splitlines()[-1].startswith("Identity Center: FAILED (access_denied")
    assert IdentityCenterPerson.objects.count() == 1


def test_the_periodic_fan_out_queues_one_identity_center_read(register_account, settings,
                                                              monkeypatch):
    queued: list[str] = []
    monkeypatch.setattr(tasks.sync_account_task, "apply_async",
                        lambda args: queued.append(f"sync {args[0]}"))
    monkeypatch.setattr(tasks.refresh_identity_center, "apply_async",
                        lambda: queued.append("identity center"))
    first, second = register_account(PROD), register_account("333333333333")

    settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN = ""
    tasks.sync_all_accounts()
    unset = list(queued)
    settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN = "arn:aws:iam::444444444444:role/Reader"
    queued.clear()
    tasks.sync_all_accounts()

    assert sorted(unset) == sorted([f"sync {first.pk}", f"sync {second.pk}"])
    assert sorted(queued) == sorted([f"sync {first.pk}", f"sync {second.pk}",
                                     "identity center"])
