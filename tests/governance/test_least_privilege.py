"""The shipped policies are exactly enough: moto checks every call against them.

Keyledger's host runs as an IAM principal holding only ``keyledger-host-policy.json``; it
assumes the reader role holding only ``keyledger-reader-policy.json``. With moto's IAM
authorization on, a full sync succeeds; removing any one action from the reader policy makes
the sync fail with a message naming the missing permission.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto.core import enable_iam_authentication
from moto.iam.models import iam_backends

from demo.seed import seed_organization
from governance.models import AwsAccount, AwsManagedPolicy, SyncRun
from governance.sync import sync_account

pytestmark = pytest.mark.django_db
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
READER = json.loads((DEPLOY / "keyledger-reader-policy.json").read_text())
HOST = json.loads((DEPLOY / "keyledger-host-policy.json").read_text())
# What an account sync needs; the one-user reads of live changes are proven in
# tests/evidence/test_live_changes.py.
READER_ACTIONS = sorted(a for s in READER["Statement"] for a in s["Action"]
                        if s["Sid"] != "KeyledgerReadOneUser")


@pytest.fixture
def org(aws, monkeypatch):
    """The demo organization, a host principal with the host policy, and one account."""
    org = seed_organization()
    prod = next(a for a in org.accounts if a.name == "prod")
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="keyledger-host")
    iam.put_user_policy(UserName="keyledger-host", PolicyName="host",
                        PolicyDocument=json.dumps(HOST))
    host_key = iam.create_access_key(UserName="keyledger-host")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", host_key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", host_key["SecretAccessKey"])
    # Two keys created in the same second: the report cannot tell them apart, so the
    # collector must ask GetAccessKeyLastUsed (the one read it makes only when needed).
    backend = iam_backends[prod.account_id]["aws"]
    user = next(u for u in backend.users.values() if len(u.access_keys) == 2)
    same = (datetime.now(UTC) - timedelta(days=5)).replace(microsecond=0, tzinfo=None)
    for key in user.access_keys:
        key.create_date = same
    account = AwsAccount.objects.create(
        account_id=prod.account_id, name="prod", external_id="keyledger-demo",
        role_arn=f"arn:aws:iam::{prod.account_id}:role/{org.reader_role_name}")
    return account, backend


def grant_reader(backend, actions: list[str]) -> None:
    role = backend.roles[next(k for k, r in backend.roles.items()
                              if r.name == "KeyledgerReader")]
    document = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    for name in list(role.policies):
        del role.policies[name]
    role.put_policy("read", json.dumps(document))


def test_the_shipped_policies_are_enough_for_a_full_sync(org):
    account, backend = org
    grant_reader(backend, READER_ACTIONS)

    with enable_iam_authentication():
        run = sync_account(account=account).run

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    used = {a for a in run.aws_calls_by_action if not a.startswith("sts:")}
    assert used == set(READER_ACTIONS)  # every granted action is needed, none is missing


@pytest.mark.parametrize("missing", READER_ACTIONS)
def test_removing_any_one_action_fails_the_sync_naming_it(org, missing):
    account, backend = org
    grant_reader(backend, [a for a in READER_ACTIONS if a != missing])
    AwsManagedPolicy.objects.all().delete()

    with enable_iam_authentication():
        run = sync_account(account=account).run

    assert run.status == SyncRun.Status.FAILED
    assert missing in run.error
