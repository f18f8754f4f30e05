"""The shipped trail reader role is exactly enough: moto checks every call against it.

As for the account reader role (tests/governance/test_least_privilege.py): Keyledger's host
principal holds only ``keyledger-host-policy.json`` and assumes the role that
``keyledger-trail-reader.cfn.yaml`` creates in the log-archive account, holding only the
template's policies. With moto's IAM authorization on, ``read_trail`` succeeds; removing
either action makes it fail naming the missing permission; a key outside the trail prefix
stays unreadable. (moto keeps SSE-KMS objects in plaintext, so it cannot prove
``kms:Decrypt`` needed: the template is checked to grant it on the given key alone.)
"""

import json
import re
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto.core import enable_iam_authentication

from demo.trail_logs import api_event, put_log
from evidence.models import KeyUsageDay
from governance.aws.trail import trail_session
from tests.conftest import account_clients
from tests.evidence.conftest import KEY_1, at, read_trail

pytestmark = pytest.mark.django_db
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
TEMPLATE = DEPLOY / "keyledger-trail-reader.cfn.yaml"
HOST = json.loads((DEPLOY / "keyledger-host-policy.json").read_text())
LOG_ARCHIVE, MEMBER = "999999999999", "111111111111"
BUCKET = "org-trail-archive"
KMS_KEY = f"arn:aws:kms:us-east-1:{LOG_ARCHIVE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class Intrinsic:
    """A CloudFormation short-form function (``!Sub``, ``!Ref``, ``!If``...) as loaded."""

    def __init__(self, name, value):
        self.name, self.value = name, value


def _loader():
    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, suffix, node):
        if isinstance(node, yaml.SequenceNode):
            return Intrinsic(suffix, loader.construct_sequence(node, deep=True))
        if isinstance(node, yaml.MappingNode):
            return Intrinsic(suffix, loader.construct_mapping(node, deep=True))
        return Intrinsic(suffix, loader.construct_scalar(node))

    Loader.add_multi_constructor("!", construct)
    return Loader


def rendered(**parameters) -> dict:
    """The template's resources as CloudFormation would create them with ``parameters``."""
    template = yaml.load(TEMPLATE.read_text(), Loader=_loader())  # noqa: S506 - SafeLoader
    values = {name: spec.get("Default", "") for name, spec in template["Parameters"].items()}
    values.update(parameters, **{"AWS::Partition": "aws", "AWS::Region": "us-east-1",
                                 "AWS::AccountId": LOG_ARCHIVE})
    values["KeyledgerTrailReaderRole"] = values["RoleName"]

    def resolve(node):
        if isinstance(node, Intrinsic):
            if node.name == "Ref":
                return values[node.value]
            if node.name == "Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: values[m[1]], node.value)
            if node.name == "Equals":
                return resolve(node.value[0]) == resolve(node.value[1])
            if node.name == "Not":
                return not resolve(node.value[0])
            if node.name == "GetAtt":
                return f"arn:aws:iam::{LOG_ARCHIVE}:role/{values['RoleName']}"
            raise AssertionError(f"unhandled !{node.name}")
        if isinstance(node, dict):
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    conditions = {name: resolve(c) for name, c in template.get("Conditions", {}).items()}
    return {name: resolve(resource) for name, resource in template["Resources"].items()
            if conditions.get(resource.get("Condition"), True)}


def role_policies(resources: dict) -> list[dict]:
    """Every policy document the template attaches to the trail reader role."""
    role = resources["KeyledgerTrailReaderRole"]["Properties"]
    documents = [p["PolicyDocument"] for p in role["Policies"]]
    documents += [r["Properties"]["PolicyDocument"] for r in resources.values()
                  if r["Type"] == "AWS::IAM::Policy"]
    return documents


def actions(documents: list[dict]) -> set[str]:
    return {a for d in documents for s in d["Statement"] for a in s["Action"]}


@pytest.fixture
def archive(aws, settings, monkeypatch):
    """The log archive's bucket with a day of logs, its role as the template makes it, and
    a host principal holding only the host policy; returns a function granting the role."""
    archive = account_clients(LOG_ARCHIVE)
    s3 = archive.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    put_log(s3, bucket=BUCKET, account_id=MEMBER, region="us-east-1", when=at(0),
            records=[api_event(access_key_id=KEY_1, account_id=MEMBER, when=at(0))])
    s3.put_object(Bucket=BUCKET, Key="other/secret.txt", Body=b"not for Keyledger")
    iam = archive.client("iam")
    resources = rendered(TrailBucketName=BUCKET, KeyledgerHostRoleArn="arn:aws:iam::"
                         "123456789012:role/KeyledgerHost", ExternalId="trail-ext-id")
    role = resources["KeyledgerTrailReaderRole"]["Properties"]
    iam.create_role(RoleName=role["RoleName"],
                    AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]))

    def grant(documents: list[dict]) -> None:
        for n, document in enumerate(documents):
            iam.put_role_policy(RoleName=role["RoleName"], PolicyName=f"p{n}",
                                PolicyDocument=json.dumps(document))

    host = boto3.client("iam", region_name="us-east-1")
    host.create_user(UserName="keyledger-host")
    host.put_user_policy(UserName="keyledger-host", PolicyName="host",
                         PolicyDocument=json.dumps(HOST))
    key = host.create_access_key(UserName="keyledger-host")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    settings.KEYLEDGER_TRAIL_BUCKET = BUCKET
    settings.KEYLEDGER_TRAIL_PREFIX = "AWSLogs/"
    settings.KEYLEDGER_TRAIL_ROLE_ARN = f"arn:aws:iam::{LOG_ARCHIVE}:role/{role['RoleName']}"
    settings.KEYLEDGER_TRAIL_EXTERNAL_ID = "trail-ext-id"
    return grant, role_policies(resources)


def test_the_shipped_role_is_enough_to_read_the_trail(archive):
    grant, policies = archive
    grant(policies)

    with enable_iam_authentication():
        out, code = read_trail()
        with pytest.raises(ClientError, match="AccessDenied"):
            trail_session().client("s3").get_object(Bucket=BUCKET, Key="other/secret.txt")

    assert code == 0, out
    assert f"{MEMBER}: ok: 1 objects" in out
    assert KeyUsageDay.objects.get(access_key_id=KEY_1).events == 1


@pytest.mark.parametrize("missing", ["s3:ListBucket", "s3:GetObject"])
def test_removing_either_action_fails_the_read_naming_it(archive, missing):
    grant, policies = archive
    grant([{**document, "Statement": [s for s in document["Statement"]
                                      if missing not in s["Action"]]}
           for document in policies])

    with enable_iam_authentication():
        out, code = read_trail()

    assert code == 1
    assert f"lacks {missing} on s3://{BUCKET}/AWSLogs/" in out
    assert not KeyUsageDay.objects.exists()


def test_the_template_grants_reads_only_and_decrypt_only_with_a_kms_key():
    plain = rendered(TrailBucketName=BUCKET)
    encrypted = rendered(TrailBucketName=BUCKET, TrailKmsKeyArn=KMS_KEY)

    assert actions(role_policies(plain)) == {"s3:ListBucket", "s3:GetObject"}
    assert actions(role_policies(encrypted)) == {"s3:ListBucket", "s3:GetObject",
                                                 "kms:Decrypt"}
    decrypt = [s for d in role_policies(encrypted) for s in d["Statement"]
               if s["Action"] == ["kms:Decrypt"]]
    assert [s["Resource"] for s in decrypt] == [KMS_KEY]
    statements = {s["Sid"]: s for d in role_policies(plain) for s in d["Statement"]}
    assert statements["ReadTheTrailLogFiles"][
        "Resource"] == f"arn:aws:s3:::{BUCKET}/AWSLogs/*"
    assert statements["ListTheTrailPrefixOnly"]["Condition"]["StringLike"]["s3:prefix"] == \
        "AWSLogs/*"
    trust = plain["KeyledgerTrailReaderRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert "sts:ExternalId" in trust["Statement"][0]["Condition"]["StringEquals"]
    assert "arn:aws:iam::*:role/KeyledgerTrailReader" in HOST["Statement"][0]["Resource"]
