"""Faults through botocore's real paths: denied by moto's IAM, throttled on the wire."""

import json

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from moto.core import enable_iam_authentication

from governance.aws.errors import CollectionError
from governance.aws.session import client_hooks
from tests.conftest import account_clients

from .helpers import ACCOUNT_A, Body, reader_session

pytestmark = pytest.mark.usefixtures("aws")

THROTTLING = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
    b"<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>"
)


@pytest.fixture
def no_backoff(monkeypatch):
    """Keep botocore's retry decisions, drop its sleeps; record the delays it chose."""
    delays = []
    original = standard.ExponentialBackoff.delay_amount

    def delay_amount(self, context):
        delays.append(original(self, context))
        return 0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    return delays


def throttle(operation: str, times: int | None):
    """A client hook whose before-send answers ``operation`` with HTTP 400 Throttling."""
    sent = []

    def before_send(request, **_):
        sent.append(request.url)
        if times is not None and len(sent) > times:
            return None  # on to moto
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, Body(THROTTLING))

    def hook(account_id, client):
        client.meta.events.register_first(f"before-send.iam.{operation}", before_send)

    return hook, sent


def users_with_keys():
    iam = account_clients(ACCOUNT_A).client("iam")
    for name in ("alice", "bob"):
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)


def test_throttled_every_time(collect, no_backoff, settings):
    assert settings.KEYLEDGER_AWS_MAX_ATTEMPTS == 3
    hook, sent = throttle("GetAccountAuthorizationDetails", None)
    with client_hooks(hook), pytest.raises(CollectionError) as info:
        collect(ACCOUNT_A)
    assert len(sent) == 3  # botocore tried max_attempts times
    assert len(no_backoff) == 2  # and backed off between them
    error = info.value
    assert error.kind == "throttled" and error.retryable
    assert "iam:GetAccountAuthorizationDetails" in error.message


def test_throttled_twice_then_fine(collect, no_backoff):
    users_with_keys()
    hook, sent = throttle("GetAccountAuthorizationDetails", 2)
    with client_hooks(hook):
        snapshot, session, _ = collect(ACCOUNT_A)
    assert len(sent) == 3
    assert {u.name for u in snapshot.users} == {"alice", "bob"}
    assert len(snapshot.keys) == 2
    # One API call as the sync counts them, whatever botocore retried underneath.
    assert session.calls["iam:GetAccountAuthorizationDetails"] == 1


def test_max_attempts_comes_from_settings(collect, no_backoff, settings):
    settings.KEYLEDGER_AWS_MAX_ATTEMPTS = 5
    hook, sent = throttle("ListAccessKeys", None)
    users_with_keys()
    with client_hooks(hook), pytest.raises(CollectionError) as info:
        collect(ACCOUNT_A)
    assert len(sent) == 5 and info.value.kind == "throttled"
    assert "iam:ListAccessKeys" in info.value.message


def reader_role_denying(account_id: str, action: str) -> None:
    """A reader role that may do everything but ``action`` (moto checks it when enabled)."""
    iam = account_clients(account_id).client("iam")
    iam.create_role(RoleName="KeyledgerReader", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "*"}}]}))
    iam.put_role_policy(RoleName="KeyledgerReader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": action, "Resource": "*"}]}))


def test_access_denied_on_list_access_keys(collect):
    users_with_keys()
    reader_role_denying(ACCOUNT_A, "iam:ListAccessKeys")
    session = reader_session(ACCOUNT_A)
    with enable_iam_authentication(), pytest.raises(CollectionError) as info:
        collect(session)
    error = info.value
    assert error.kind == "access_denied" and not error.retryable
    assert "iam:ListAccessKeys" in error.message
    # The calls before it were allowed, so the denial is precisely this action.
    assert session.calls["iam:GetAccountAuthorizationDetails"] == 1
    assert session.calls["iam:ListAccessKeys"] == 1


def answer(service: str, operation: str, status: int, body: dict):
    """A client hook: ``operation`` gets a JSON-protocol error as AWS sends it."""
    sent = []

    def before_send(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.1"},
                           Body(json.dumps(body).encode()))

    def hook(account_id, client):
        client.meta.events.register_first(f"before-send.{service}.{operation}", before_send)

    return hook, sent


def test_access_denied_on_cloudtrail(collect):
    """CloudTrail speaks JSON (moto answers it in XML when denying, so it is injected)."""
    users_with_keys()
    hook, sent = answer("cloudtrail", "DescribeTrails", 400, {
        "__type": "AccessDeniedException",
        "Message": "User: arn:aws:sts::111111111111:assumed-role/KeyledgerReader/s is not "
                   "authorized to perform: cloudtrail:DescribeTrails"})
    with client_hooks(hook), pytest.raises(CollectionError) as info:
        collect(ACCOUNT_A)
    assert len(sent) == 1  # not retried
    assert info.value.kind == "access_denied" and not info.value.retryable
    assert "cloudtrail:DescribeTrails" in info.value.message


def test_reader_role_with_the_right_permissions_collects(collect):
    users_with_keys()
    reader_role_denying(ACCOUNT_A, "s3:DeleteBucket")
    session = reader_session(ACCOUNT_A)
    with enable_iam_authentication():
        snapshot, _, _ = collect(session)
    assert len(snapshot.keys) == 2
