"""The shipped Identity Center reader role is exactly enough: moto checks every call.

As for the account and trail reader roles: the host principal holds only
``keyledger-host-policy.json`` and assumes the role ``keyledger-identity-center-reader.cfn.yaml``
creates in the Identity Center account, holding only the template's policy. With moto's IAM
authorization on (it enforces ``identitystore`` and ``sso-admin``, against ``Resource: "*"``
only), a read succeeds using every granted action; removing any one fails naming it.
"""

import json
from pathlib import Path

import boto3
import pytest
import yaml
from moto.core import enable_iam_authentication

from governance.aws.errors import CollectionError
from governance.aws.identity_center import identity_center_access
from tests.conftest import account_clients
from tests.test_deployment import _cfn_loader

from .conftest import IC_ACCOUNT, PROD

pytestmark = pytest.mark.django_db
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
TEMPLATE = yaml.load((DEPLOY / "keyledger-identity-center-reader.cfn.yaml").read_text(),
                     Loader=_cfn_loader())  # noqa: S506 - a SafeLoader with CFN's tags
ROLE = TEMPLATE["Resources"]["KeyledgerIdentityCenterReaderRole"]["Properties"]
POLICY = ROLE["Policies"][0]["PolicyDocument"]
ACTIONS = sorted(a for s in POLICY["Statement"] for a in s["Action"])
HOST = json.loads((DEPLOY / "keyledger-host-policy.json").read_text())


@pytest.fixture
def grant(directory, monkeypatch):
    """The role in the Identity Center account and a host principal with the host policy;
    returns a function putting a policy with the given actions on the role."""
    iam = account_clients(IC_ACCOUNT).client("iam")
    iam.create_role(RoleName=TEMPLATE["Parameters"]["RoleName"]["Default"],
                    AssumeRolePolicyDocument=json.dumps({
                        "Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "sts:AssumeRole",
                            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}))
    host = boto3.client("iam", region_name="us-east-1")
    host.create_user(UserName="keyledger-host")
    host.put_user_policy(UserName="keyledger-host", PolicyName="host",
                         PolicyDocument=json.dumps(HOST))
    key = host.create_access_key(UserName="keyledger-host")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    def put(actions: list[str]) -> None:
        document = {**POLICY, "Statement": [
            {**s, "Action": [a for a in s["Action"] if a in actions]}
            for s in POLICY["Statement"] if any(a in actions for a in s["Action"])]}
        iam.put_role_policy(RoleName="KeyledgerIdentityCenterReader",
                            PolicyName="KeyledgerIdentityCenterReadOnly",
                            PolicyDocument=json.dumps(document))
    return put


def test_the_shipped_role_is_enough_and_every_action_is_used(grant):
    grant(ACTIONS)

    with enable_iam_authentication():
        snapshot = identity_center_access(["jane.doe@example.com"])

    jane = snapshot.for_email("jane.doe@example.com")
    assert {(a.account_id, a.permission_set_name) for a in jane.assignments} >= {
        (PROD, "Developer")}
    used = {a for a in snapshot.calls_by_action if not a.startswith("sts:")}
    assert used == set(ACTIONS)


@pytest.mark.parametrize("missing", ACTIONS)
def test_removing_any_one_action_fails_the_read_naming_it(grant, missing):
    grant([a for a in ACTIONS if a != missing])

    with enable_iam_authentication(), pytest.raises(CollectionError) as failure:
        identity_center_access(["jane.doe@example.com"])

    assert missing in failure.value.message


def test_the_template_is_read_only_and_trusts_only_the_host_with_the_external_id():
    assert all(a.split(":")[1].startswith(("List", "Describe", "Get")) for a in ACTIONS)
    assert {s["Resource"] for s in POLICY["Statement"]} == {"*"}  # see the module docstring
    trust = ROLE["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRole"
    assert trust[0]["Principal"] == {"AWS": {"Ref": "KeyledgerHostRoleArn"}}
    assert trust[0]["Condition"]["StringEquals"] == {"sts:ExternalId": {"Ref": "ExternalId"}}
    assert "arn:aws:iam::*:role/KeyledgerIdentityCenterReader" in HOST["Statement"][0]["Resource"]
