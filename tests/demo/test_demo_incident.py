"""The demo's trail, its key used from an undeclared address, the responder role, and live
changes: what issue 16 adds to ``make demo``. What one run of the demo made is checked with
the other tests of such a run, in test_run_demo.py (one run for all of them)."""

import time

import boto3
import pytest

from demo.activity import seed_trail
from demo.live import live_changes, wire_events
from demo.seed import DEMO_EXTERNAL_ID, seed_organization
from governance.models import AccessKey, AwsAccount
from governance.sync import sync_account


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
