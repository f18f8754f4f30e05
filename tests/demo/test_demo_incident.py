"""The demo's trail, its key used from an undeclared address, the responder role, and live
changes: what issue 16 adds to ``make demo``."""

import io
import time

import boto3
import pytest
from django.core.management import call_command

from demo.activity import DECLARED_SOURCES, DECLARED_USER, UNDECLARED_ADDRESS, seed_trail
from demo.live import live_changes, wire_events
from demo.seed import DEMO_EXTERNAL_ID, seed_organization
from evidence.models import KeyUsageAddress, KeyUsageDay
from governance.models import AccessKey, AuditEvent, AwsAccount, Registration
from governance.sync import sync_account


@pytest.fixture
def demo_run(moto_server, db):
    out = io.StringIO()
    call_command("run_demo", "--no-serve", "--history-days", "1", stdout=out)
    return out.getvalue()


def test_the_demo_reads_30_days_of_trail_and_one_key_was_used_from_an_undeclared_address(
        demo_run):
    assert "2 of 2 accounts read" in demo_run  # the accounts whose trail logs
    prod = AwsAccount.objects.get(name="prod")
    key = AccessKey.objects.get(account=prod, user__name=DECLARED_USER, status="Active")
    registration = Registration.objects.get(key=key, superseded_at__isnull=True)
    assert registration.declared_sources == list(DECLARED_SOURCES)
    assert registration.owner == key.owner
    assert AuditEvent.objects.filter(action="key.register_purpose",
                                     object_id=str(key.pk)).exists()
    days = KeyUsageDay.objects.filter(access_key_id=key.access_key_id)
    assert days.count() >= 10 and {d.account_id for d in days} == {prod.account_id}
    stranger = KeyUsageAddress.objects.filter(access_key_id=key.access_key_id,
                                              address=UNDECLARED_ADDRESS)
    assert stranger.count() >= 2
    home = KeyUsageAddress.objects.filter(access_key_id=key.access_key_id).exclude(
        address=UNDECLARED_ADDRESS).values_list("address", flat=True)
    assert home and all(address.startswith("192.0.2.") for address in home)
    # Active keys of prod and staging used in the window have evidence; inactive keys and
    # the accounts without a logging trail (dev, legacy) have none.
    with_evidence = set(KeyUsageDay.objects.values_list("access_key_id", flat=True))
    inactive = set(AccessKey.objects.filter(status="Inactive").values_list(
        "access_key_id", flat=True))
    untrailed = set(AccessKey.objects.filter(account__name__in=("dev", "legacy"))
                    .values_list("access_key_id", flat=True))
    assert len(with_evidence) >= 20 and not (with_evidence & (inactive | untrailed))
    assert UNDECLARED_ADDRESS in demo_run


@pytest.mark.django_db(transaction=True)
def test_a_key_created_in_the_emulator_reaches_keyledger_through_the_queue(moto_server):
    org = seed_organization()
    prod = next(a for a in org.accounts if a.name == "prod")
    account = AwsAccount.objects.create(
        account_id=prod.account_id, name="prod", external_id=DEMO_EXTERNAL_ID,
        role_arn=f"arn:aws:iam::{prod.account_id}:role/{org.reader_role_name}")
    assert sync_account(account=account).run.status == "succeeded"
    own_key = AccessKey.objects.get(account=account, user__name="svc-sendgrid")
    queue_url = wire_events()

    with live_changes(org.management_account_id, queue_url) as changes:
        assert changes.running
        # As the CLI line in the banner: the key's own id as credentials (moto acts in its
        # account and checks no secret).
        iam = boto3.client("iam", region_name="us-east-1",
                           aws_access_key_id=own_key.access_key_id,
                           aws_secret_access_key="demo")
        new_id = iam.create_access_key(UserName="svc-sendgrid")["AccessKey"]["AccessKeyId"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not AccessKey.objects.filter(
                access_key_id=new_id).exists():
            time.sleep(0.2)

    assert not changes.running  # stopped with the block
    stored = AccessKey.objects.get(access_key_id=new_id)
    assert stored.account == account and stored.user.name == "svc-sendgrid"
    assert changes.consumer.stats.handled >= 1 and changes.consumer.stats.failed == 0


def test_the_trail_is_written_as_cloudtrail_lays_it_out(moto_server):
    org = seed_organization()
    trail = seed_trail(org, days=5)

    s3 = boto3.client("s3", region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=trail.bucket)["Contents"]]

    assert len(keys) == trail.files and trail.events > trail.files
    accounts = {k.split("/")[2] for k in keys}
    assert accounts == {a.account_id for a in org.accounts if a.name in ("prod", "staging")}
    assert all(k.startswith("AWSLogs/o-") and "/CloudTrail/" in k and k.endswith(".json.gz")
               for k in keys)
