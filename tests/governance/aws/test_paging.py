"""Paging and URL-encoded documents, as real IAM sends them (moto does neither): Stubber."""

import copy
import json
from datetime import UTC, datetime
from urllib.parse import quote

import boto3
import pytest
from botocore.handlers import json_decode_policies
from botocore.stub import Stubber

from governance.aws.collector import AUTH_DETAILS_FILTER, Collector
from governance.aws.errors import CollectionError
from governance.aws.session import AccountSession

from .helpers import ACCOUNT_A, utc

ACCOUNT = ACCOUNT_A
LOCAL_ARN = f"arn:aws:iam::{ACCOUNT}:policy/Deploy"


def doc(*actions: str) -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def encoded(document: dict) -> str:
    """How IAM puts a document on the wire: pretty JSON, RFC 3986 quoted."""
    return quote(json.dumps(document, indent=4), safe="")


CREATED = datetime(2020, 1, 1, tzinfo=UTC)
PAGE_1 = {
    "UserDetailList": [{
        "Path": "/", "UserName": "alice", "UserId": "AIDAALICE0000000000001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "CreateDate": CREATED,
        "UserPolicyList": [{"PolicyName": "alice-inline", "PolicyDocument": encoded(
            doc("sqs:SendMessage"))}],
        "GroupList": ["deployers"],
        "AttachedManagedPolicies": [{"PolicyName": "Deploy", "PolicyArn": LOCAL_ARN}],
        "Tags": [{"Key": "owner", "Value": "alice@example.com"}],
    }],
    "GroupDetailList": [],
    "Policies": [],
    "IsTruncated": True,
    "Marker": "page-2-marker",
}
PAGE_2 = {
    "UserDetailList": [{
        "Path": "/ci/", "UserName": "bob", "UserId": "AIDABOB00000000000001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci/bob", "CreateDate": CREATED,
        "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [], "Tags": [],
    }],
    "GroupDetailList": [{
        "Path": "/", "GroupName": "deployers", "GroupId": "AGPADEPLOYERS00000001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/deployers", "CreateDate": CREATED,
        "GroupPolicyList": [{"PolicyName": "deployers-inline",
                             "PolicyDocument": encoded(doc("ecr:*"))}],
        "AttachedManagedPolicies": [],
    }],
    "Policies": [{
        "PolicyName": "Deploy", "PolicyId": "ANPADEPLOY00000000001", "Arn": LOCAL_ARN,
        "Path": "/", "DefaultVersionId": "v2", "AttachmentCount": 1, "IsAttachable": True,
        "CreateDate": CREATED, "UpdateDate": CREATED,
        "PolicyVersionList": [
            {"Document": encoded(doc("ecs:UpdateService")), "VersionId": "v1",
             "IsDefaultVersion": False, "CreateDate": CREATED},
            {"Document": encoded(doc("ecs:UpdateService", "ecs:RegisterTaskDefinition")),
             "VersionId": "v2", "IsDefaultVersion": True, "CreateDate": CREATED},
        ],
    }],
    "IsTruncated": False,
}
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
REPORT = "\n".join([
    HEADER,
    f"alice,arn:aws:iam::{ACCOUNT}:user/alice,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,"
    "false,true,2021-01-01T00:00:00+00:00,2025-01-01T10:00:00+00:00,eu-west-1,s3,"
    "false,2022-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
    f"bob,arn:aws:iam::{ACCOUNT}:user/ci/bob,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,"
    "false,true,2023-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
]) + "\n"


def key(user: str, key_id: str, status: str, created: datetime) -> dict:
    return {"UserName": user, "AccessKeyId": key_id, "Status": status, "CreateDate": created}


@pytest.mark.parametrize("botocore_decodes", [True, False],
                         ids=["botocore-decodes", "collector-decodes"])
def test_pages_are_merged_and_documents_decoded(aws, botocore_decodes):
    session = AccountSession(ACCOUNT, boto3.Session(region_name="us-east-1"))
    iam = session.client("iam")
    if not botocore_decodes:  # the documents reach the collector as IAM sent them
        iam.meta.events.unregister("after-call.iam", json_decode_policies)
    stub = Stubber(iam)
    # botocore decodes documents in place: give it copies.
    page_1 = copy.deepcopy(PAGE_1)
    stub.add_response("get_account_authorization_details", page_1,
                      {"Filter": AUTH_DETAILS_FILTER})
    stub.add_response("get_account_authorization_details", copy.deepcopy(PAGE_2),
                      {"Filter": AUTH_DETAILS_FILTER, "Marker": "page-2-marker"})
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", {
        "Content": REPORT.encode(), "ReportFormat": "text/csv",
        "GeneratedTime": datetime(2025, 6, 1, 12, 0, tzinfo=UTC)}, {})
    stub.add_response("list_access_keys", {
        "AccessKeyMetadata": [key("alice", "AKIAALICE00000000001", "Active", utc(2021, 1, 1))],
        "IsTruncated": True, "Marker": "alice-keys-2"}, {"UserName": "alice"})
    stub.add_response("list_access_keys", {
        "AccessKeyMetadata": [key("alice", "AKIAALICE00000000002", "Inactive",
                                  utc(2022, 1, 1))],
        "IsTruncated": False}, {"UserName": "alice", "Marker": "alice-keys-2"})
    stub.add_response("list_access_keys", {
        "AccessKeyMetadata": [key("bob", "AKIABOB0000000000001", "Active", utc(2023, 1, 1))],
        "IsTruncated": False}, {"UserName": "bob"})
    stub.add_response("get_account_summary", {"SummaryMap": {"AccountAccessKeysPresent": 0}},
                      {})
    store_calls = []

    class Store:
        def get(self, arn):
            store_calls.append(arn)

        def put(self, arn, version_id, document):
            raise AssertionError("no AWS-managed policy here")

    with stub:
        snapshot = Collector(session, Store(), sleep=lambda s: None).collect()
        stub.assert_no_pending_responses()

    sent = page_1["UserDetailList"][0]["UserPolicyList"][0]["PolicyDocument"]
    assert isinstance(sent, str) is not botocore_decodes  # which decoder did the work
    users = {u.name: u for u in snapshot.users}
    assert list(users) == ["alice", "bob"]  # both pages
    alice = users["alice"]
    assert alice.tags == (("owner", "alice@example.com"),)
    assert alice.group_names == ("deployers",)
    policies = {(p.source, p.name): p for p in alice.policies}
    assert policies["user-inline", "alice-inline"].document == doc("sqs:SendMessage")
    # The local policy and the group are on page 2, the user on page 1.
    assert policies["user-attached", "Deploy"].document == doc(
        "ecs:UpdateService", "ecs:RegisterTaskDefinition")  # the default version, v2
    assert policies["user-attached", "Deploy"].arn == LOCAL_ARN
    assert policies["group-inline", "deployers-inline"].document == doc("ecr:*")
    assert policies["group-inline", "deployers-inline"].group == "deployers"
    assert users["bob"].path == "/ci/" and users["bob"].policies == ()
    assert store_calls == []  # local policies never go to the AWS-managed store

    keys = {k.access_key_id: k for k in snapshot.keys}
    assert set(keys) == {"AKIAALICE00000000001", "AKIAALICE00000000002", "AKIABOB0000000000001"}
    first = keys["AKIAALICE00000000001"]
    assert first.user_id == "AIDAALICE0000000000001"
    assert (first.status, first.created_at, first.last_used_at) == (
        "Active", utc(2021, 1, 1), utc(2025, 1, 1, 10))
    assert (first.last_used_service, first.last_used_region) == ("s3", "eu-west-1")
    second = keys["AKIAALICE00000000002"]
    assert (second.status, second.last_used_at, second.last_used_service) == (
        "Inactive", None, "")
    assert keys["AKIABOB0000000000001"].user_id == "AIDABOB00000000000001"
    assert snapshot.credential_report_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert snapshot.cloudtrail_logging is False  # CloudTrail went to moto: no trail


def test_a_garbled_document_is_bad_data(aws):
    session = AccountSession(ACCOUNT, boto3.Session(region_name="us-east-1"))
    iam = session.client("iam")
    page = copy.deepcopy(PAGE_2)
    page["Policies"] = []
    page["GroupDetailList"][0]["GroupPolicyList"][0]["PolicyDocument"] = "%7B%22Version"
    page["UserDetailList"][0]["GroupList"] = ["deployers"]
    stub = Stubber(iam)
    stub.add_response("get_account_authorization_details", page, {"Filter": AUTH_DETAILS_FILTER})
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", {"Content": REPORT.encode()}, {})

    with stub, pytest.raises(CollectionError) as info:
        Collector(session, None, sleep=lambda s: None).collect()
    assert info.value.kind == "bad_data"
    assert "deployers" in info.value.message and "not JSON" in info.value.message
