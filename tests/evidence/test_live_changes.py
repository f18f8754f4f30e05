"""Live changes: IAM events put on EventBridge reach the queue and refresh one user.

Everything runs through boto3 against in-process moto as production would: the queue and its
dead-letter queue are created with the shipped template's settings, the rule with the
template's own event pattern, events are put on the bus (moto delivers them to the queue at
once) and ``consume_events --once`` drains it.
"""

import io
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.db import connections
from moto.core import enable_iam_authentication

from evidence.consumer import Consumer
from evidence.events import EVENT_NAMES, Malformed, parse
from governance.aws.events_queue import EventQueue
from governance.aws.session import client_hooks
from governance.models import AccessKey, AccessKeyEvent, Finding, IamUser
from tests.conftest import account_clients

pytestmark = pytest.mark.django_db
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
MEMBER, UNKNOWN = "111111111111", "333333333333"
MAX_RECEIVES = 3


class _Loader(yaml.SafeLoader):
    """CloudFormation's short-form functions (``!Ref``...) kept as ``{"Fn": value}``."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: {
    suffix: (loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
             else loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
             else loader.construct_mapping(node))})


def template(name: str) -> dict:
    return yaml.load((DEPLOY / name).read_text(), _Loader)


def event_pattern() -> dict:
    return template("keyledger-events.cfn.yaml")["Resources"]["LocalRule"]["Properties"][
        "EventPattern"]


@pytest.fixture
def queue(aws, settings, register_account, people):
    """The queue, its DLQ and the rule, as the template makes them; the member registered."""
    settings.KEYLEDGER_EVENTS_RETRY_SECONDS = 0
    settings.KEYLEDGER_EVENTS_VISIBILITY_SECONDS = 30
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq = sqs.create_queue(QueueName="keyledger-iam-changes-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="keyledger-iam-changes", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": MAX_RECEIVES})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="keyledger-iam-changes", EventPattern=json.dumps(event_pattern()))
    events.put_targets(Rule="keyledger-iam-changes", Targets=[{"Id": "q", "Arn": arn}])
    settings.KEYLEDGER_EVENTS_QUEUE_URL = url
    register_account(MEMBER)
    iam = account_clients(MEMBER).client("iam")

    class Queue:
        def __init__(self):
            self.url, self.dlq, self.sqs, self.iam, self.events = url, dlq, sqs, iam, events

        def put(self, name: str, *, params: dict | None = None, account=MEMBER,
                when=None, error: str = "", **detail):
            record = {
                "eventVersion": "1.09", "eventSource": "iam.amazonaws.com", "eventName": name,
                "eventID": f"ev-{time.monotonic_ns()}", "awsRegion": "us-east-1",
                "eventTime": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "recipientAccountId": account, "requestParameters": params or {},
                "userIdentity": {"type": "AssumedRole", "accountId": account,
                                 "arn": f"arn:aws:sts::{account}:assumed-role/Admin/jane"},
                **({"errorCode": error} if error else {}), **detail}
            answer = events.put_events(Entries=[{
                "Source": "aws.iam", "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(record), "Resources": []}])
            assert answer["FailedEntryCount"] == 0

        def depth(self, which=None) -> int:
            attrs = sqs.get_queue_attributes(
                QueueUrl=which or url, AttributeNames=["ApproximateNumberOfMessages",
                                                       "ApproximateNumberOfMessagesNotVisible"])
            return sum(int(v) for v in attrs["Attributes"].values())

    return Queue()


def consume() -> Counter:
    """``consume_events --once``, counting every AWS call its sessions make (queue included)."""
    calls: Counter = Counter()

    def count(_account, client):
        client.meta.events.register(
            "before-call", lambda model, **kw: calls.update([model.name]))

    with client_hooks(count):
        call_command("consume_events", "--once", stdout=io.StringIO())
    return calls


def key_calls(calls: Counter) -> int:
    """AWS calls the refreshes made: everything but reading and deleting the queue."""
    return sum(n for name, n in calls.items()
               if name not in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"))


def test_a_new_key_appears_owned_and_asked_for_its_purpose_in_three_calls(queue):
    queue.iam.create_user(UserName="ci-bot", Tags=[{"Key": "owner",
                                                   "Value": "owner@example.com"}])
    queue.put("CreateUser", params={"userName": "ci-bot"})
    consume()
    key_id = queue.iam.create_access_key(UserName="ci-bot")["AccessKey"]["AccessKeyId"]
    queue.put("CreateAccessKey", params={"userName": "ci-bot"})

    calls = consume()

    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.status == "Active" and key.removed_at is None
    assert key.owner.email == "owner@example.com"
    assert Finding.objects.filter(key=key, code="NO_PURPOSE", resolved_at__isnull=True).exists()
    # ListAccessKeys and GetAccessKeyLastUsed for the new key; AssumeRole paid by CreateUser.
    assert key_calls(calls) <= 3, calls
    assert calls["ListAccessKeys"] == 1 and calls["GetAccessKeyLastUsed"] == 1
    assert queue.depth() == 0 and queue.depth(queue.dlq) == 0


def test_a_key_of_a_user_never_synced_arrives_with_its_user(queue):
    queue.iam.create_user(UserName="legacy", Tags=[{"Key": "Owner",
                                                   "Value": "OWNER@example.com"}])
    key_id = queue.iam.create_access_key(UserName="legacy")["AccessKey"]["AccessKeyId"]
    queue.put("CreateAccessKey", params={"userName": "legacy"})

    consume()

    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.user.name == "legacy" and key.owner.email == "owner@example.com"


def test_deactivated_and_deleted_keys_are_marked(queue):
    queue.iam.create_user(UserName="app")
    key_id = queue.iam.create_access_key(UserName="app")["AccessKey"]["AccessKeyId"]
    queue.put("CreateAccessKey", params={"userName": "app"})
    consume()

    queue.iam.update_access_key(UserName="app", AccessKeyId=key_id, Status="Inactive")
    queue.put("UpdateAccessKey", params={"userName": "app", "accessKeyId": key_id,
                                         "status": "Inactive"})
    consume()
    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.status == "Inactive" and key.removed_at is None

    queue.iam.delete_access_key(UserName="app", AccessKeyId=key_id)
    queue.put("DeleteAccessKey", params={"userName": "app", "accessKeyId": key_id})
    consume()
    key.refresh_from_db()
    assert key.removed_at is not None
    assert list(key.events.values_list("kind", flat=True).order_by("at", "pk")) == [
        AccessKeyEvent.Kind.APPEARED, AccessKeyEvent.Kind.DEACTIVATED,
        AccessKeyEvent.Kind.REMOVED]


def test_duplicate_and_out_of_order_events_are_harmless(queue):
    """The events only say whom to re-read; what is stored is AWS's present state."""
    queue.iam.create_user(UserName="app")
    key_id = queue.iam.create_access_key(UserName="app")["AccessKey"]["AccessKeyId"]
    queue.iam.update_access_key(UserName="app", AccessKeyId=key_id, Status="Inactive")
    now = datetime.now(UTC)
    # Delivered newest first, each twice.
    for _ in range(2):
        queue.put("UpdateAccessKey", params={"userName": "app", "accessKeyId": key_id,
                                             "status": "Inactive"}, when=now)
        queue.put("CreateAccessKey", params={"userName": "app"}, when=now - timedelta(minutes=1))

    consume()

    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.status == "Inactive" and key.removed_at is None
    assert list(key.events.values_list("kind", flat=True)) == [AccessKeyEvent.Kind.APPEARED]
    assert AccessKey.objects.count() == 1


def test_policy_tag_and_group_changes_refresh_findings_and_owner(queue):
    queue.iam.create_user(UserName="deployer")
    queue.iam.create_access_key(UserName="deployer")
    queue.put("CreateAccessKey", params={"userName": "deployer"})
    consume()
    key = AccessKey.objects.get(user__name="deployer")
    assert key.owner is None

    queue.iam.tag_user(UserName="deployer", Tags=[{"Key": "owner",
                                                  "Value": "owner@example.com"}])
    queue.put("TagUser", params={"userName": "deployer"})
    admin = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    queue.iam.create_group(GroupName="admins")
    queue.iam.add_user_to_group(GroupName="admins", UserName="deployer")
    queue.put("AddUserToGroup", params={"userName": "deployer", "groupName": "admins"})
    consume()
    key.refresh_from_db()
    assert key.owner.email == "owner@example.com"
    assert IamUser.objects.get(name="deployer").group_names == ["admins"]
    assert not Finding.objects.filter(key=key, code="ADMIN_PRIVILEGE").exists()

    queue.iam.put_group_policy(GroupName="admins", PolicyName="all", PolicyDocument=admin)
    queue.put("PutGroupPolicy", params={"groupName": "admins", "policyName": "all"})
    consume()
    assert Finding.objects.filter(key=key, code="ADMIN_PRIVILEGE", resolved_at__isnull=True
                                  ).exists()


def test_a_deleted_user_takes_its_keys_with_it(queue):
    queue.iam.create_user(UserName="old")
    key_id = queue.iam.create_access_key(UserName="old")["AccessKey"]["AccessKeyId"]
    queue.put("CreateAccessKey", params={"userName": "old"})
    consume()
    queue.iam.delete_access_key(UserName="old", AccessKeyId=key_id)
    queue.iam.delete_user(UserName="old")
    queue.put("DeleteUser", params={"userName": "old"})

    consume()

    assert IamUser.objects.get(name="old").removed_at is not None
    assert AccessKey.objects.get(access_key_id=key_id).removed_at is not None


def test_a_renamed_user_keeps_its_keys(queue):
    queue.iam.create_user(UserName="old-name")
    key_id = queue.iam.create_access_key(UserName="old-name")["AccessKey"]["AccessKeyId"]
    queue.put("CreateAccessKey", params={"userName": "old-name"})
    consume()
    queue.iam.update_user(UserName="old-name", NewUserName="new-name")
    queue.put("UpdateUser", params={"userName": "old-name", "newUserName": "new-name"})

    consume()

    key = AccessKey.objects.get(access_key_id=key_id)
    assert key.user.name == "new-name" and key.removed_at is None
    assert list(key.events.values_list("kind", flat=True)) == [AccessKeyEvent.Kind.APPEARED]
    assert IamUser.objects.count() == 1


def test_malformed_failed_and_unknown_account_events_are_dropped_not_retried(queue):
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody="not json")
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({"source": "aws.s3"}))
    queue.put("CreateAccessKey", params={"userName": "x" * 200})  # not an IAM name
    queue.put("CreateAccessKey", params={"userName": "someone"}, account=UNKNOWN)
    queue.put("CreateAccessKey", params={"userName": "someone"}, error="AccessDenied")

    consume()

    assert queue.depth() == 0 and queue.depth(queue.dlq) == 0
    assert not AccessKey.objects.exists()


def test_a_message_that_keeps_failing_reaches_the_dead_letter_queue(queue):
    """The consumer never deletes what it failed on: SQS's redrive moves it after N."""
    queue.iam.create_user(UserName="app")
    queue.put("CreateAccessKey", params={"userName": "app"})
    seen = []

    def throttle(_account, client):
        def refuse(**_kw):
            seen.append(1)
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}},
                              "ListAccessKeys")
        client.meta.events.register_first("before-call.iam.ListAccessKeys", refuse)

    with client_hooks(throttle):
        call_command("consume_events", "--once", stdout=io.StringIO())

    assert len(seen) == MAX_RECEIVES
    assert queue.depth() == 0 and queue.depth(queue.dlq) == 1
    assert not AccessKey.objects.exists()


def test_visibility_is_extended_while_a_message_is_worked_on(queue, settings):
    queue.iam.create_user(UserName="app")
    queue.put("CreateAccessKey", params={"userName": "app"})
    others_saw = []

    def slow(_account, client):
        def wait(**_kw):
            time.sleep(2.6)  # longer than the 2-second visibility timeout
            others_saw.extend(queue.sqs.receive_message(QueueUrl=queue.url,
                                                        WaitTimeSeconds=0).get("Messages", []))
        client.meta.events.register_first("before-call.iam.ListAccessKeys", wait)

    consumer = Consumer(EventQueue(queue.url), wait_seconds=1, visibility_seconds=2,
                        retry_seconds=0)
    with client_hooks(slow):
        stats = consumer.run(once=True)

    assert others_saw == [] and stats.handled == 1 and stats.received == 1
    assert queue.depth() == 0


def test_a_stop_finishes_the_message_in_hand_and_releases_the_rest(queue):
    queue.iam.create_user(UserName="a")
    queue.iam.create_user(UserName="b")
    queue.put("CreateUser", params={"userName": "a"})
    queue.put("CreateUser", params={"userName": "b"})
    consumer = Consumer(EventQueue(queue.url), wait_seconds=1, visibility_seconds=30,
                        retry_seconds=0)

    def stop_during_first(_account, client):
        client.meta.events.register_first("before-call.iam.GetUser",
                                          lambda **_kw: consumer.stop())

    with client_hooks(stop_during_first):
        stats = consumer.run(once=True)

    assert stats.handled == 1
    assert IamUser.objects.count() == 1
    visible = queue.sqs.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert visible["ApproximateNumberOfMessages"] == "1"  # released at once, not in 30 s


@pytest.mark.django_db(transaction=True)
def test_the_consumer_thread_stops_on_request(queue):
    """The loop a container runs: long polling, stopped from outside (as by SIGTERM)."""
    consumer = Consumer(EventQueue(queue.url), wait_seconds=1, visibility_seconds=30,
                        retry_seconds=0)
    def run():
        try:
            consumer.run()
        finally:
            connections.close_all()  # this thread's own connection

    worker = threading.Thread(target=run)
    worker.start()
    queue.iam.create_user(UserName="late")
    queue.put("CreateUser", params={"userName": "late"})
    deadline = time.monotonic() + 10
    while not IamUser.objects.filter(name="late").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    consumer.stop()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert IamUser.objects.filter(name="late").exists()


# -- least privilege: the shipped policies are exactly enough -----------------------------------

READER = json.loads((DEPLOY / "keyledger-reader-policy.json").read_text())
HOST = json.loads((DEPLOY / "keyledger-host-policy.json").read_text())
ONE_USER = next(s["Action"] for s in READER["Statement"] if s["Sid"] == "KeyledgerReadOneUser")
# From the sync's statement: the key reads, and customer-managed documents.
LIVE_ACTIONS = sorted([*ONE_USER, "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed",
                       "iam:GetPolicy", "iam:GetPolicyVersion"])


@pytest.fixture
def enforced(queue, monkeypatch):
    """The host holds only the host policy; the member's reader role only ``grant(...)``."""
    central = boto3.client("iam", region_name="us-east-1")
    central.create_user(UserName="keyledger-host")
    central.put_user_policy(UserName="keyledger-host", PolicyName="host",
                            PolicyDocument=json.dumps(HOST))
    host_key = central.create_access_key(UserName="keyledger-host")["AccessKey"]
    queue.iam.create_role(RoleName="KeyledgerReader", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "*"}}]}))
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:GetPolicy*", "Resource": "*"}]})
    policy_arn = queue.iam.create_policy(PolicyName="deploy", PolicyDocument=document)[
        "Policy"]["Arn"]
    queue.iam.create_group(GroupName="ops")
    queue.iam.attach_group_policy(GroupName="ops", PolicyArn=policy_arn)
    queue.iam.put_group_policy(GroupName="ops", PolicyName="inline", PolicyDocument=document)
    queue.iam.create_user(UserName="ci")
    queue.iam.add_user_to_group(GroupName="ops", UserName="ci")
    queue.iam.attach_user_policy(UserName="ci", PolicyArn=policy_arn)
    queue.iam.put_user_policy(UserName="ci", PolicyName="inline", PolicyDocument=document)
    queue.iam.create_access_key(UserName="ci")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", host_key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", host_key["SecretAccessKey"])

    def grant(actions):
        queue.iam.put_role_policy(RoleName="KeyledgerReader", PolicyName="read",
                                  PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                      {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        queue.put("CreateUser", params={"userName": "ci"})
        queue.put("PutGroupPolicy", params={"groupName": "ops", "policyName": "inline"})
        queue.put("CreateAccessKey", params={"userName": "ci"})

    return grant


def test_the_shipped_policies_are_enough_for_live_changes(enforced):
    enforced(LIVE_ACTIONS)

    with enable_iam_authentication():
        calls = consume()

    assert AccessKey.objects.filter(user__name="ci", removed_at__isnull=True).count() == 1
    used = {f"iam:{name}" for name in calls} - {"iam:AssumeRole"}
    assert used - {"iam:ReceiveMessage", "iam:DeleteMessage"} == set(LIVE_ACTIONS)


@pytest.mark.parametrize("missing", ONE_USER)
def test_without_any_one_action_the_event_is_retried_not_lost(enforced, queue, missing):
    enforced([a for a in LIVE_ACTIONS if a != missing])

    with enable_iam_authentication():
        consume()

    assert queue.depth(queue.dlq) >= 1  # kept for an operator, after every retry failed


# -- events as untrusted text ------------------------------------------------------------------

def envelope(**detail) -> str:
    return json.dumps({"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail",
                       "account": "999999999999", "detail": {
                           "eventSource": "iam.amazonaws.com", "recipientAccountId": MEMBER,
                           **detail}})


def test_the_account_comes_from_the_record_not_the_forwarding_bus():
    change = parse(envelope(eventName="TagUser", requestParameters={"userName": "u"}))
    assert change is not None and change.account_id == MEMBER and change.user_names == ("u",)


def test_a_key_event_without_a_user_name_names_the_caller():
    change = parse(envelope(eventName="CreateAccessKey", requestParameters={},
                            userIdentity={"type": "IAMUser", "userName": "self-service"}))
    assert change is not None and change.user_names == ("self-service",) and change.keys_only


@pytest.mark.parametrize("body", [
    "", "[]", json.dumps({"source": "aws.iam"}),
    envelope(eventName="ListUsers"),
    envelope(eventName="TagUser", requestParameters={"userName": "a/../b"}),
    envelope(eventName="TagUser", requestParameters={"userName": ["a"]}),
    envelope(eventName="PutGroupPolicy", requestParameters={"groupName": ""}),
    envelope(eventName="TagUser", recipientAccountId="12345", requestParameters={
        "userName": "u"}),
])
def test_what_is_not_an_iam_change_is_malformed(body):
    with pytest.raises(Malformed):
        parse(body)


# -- the shipped CloudFormation --------------------------------------------------------------

def test_the_templates_route_every_handled_event_to_the_queue_and_only_from_the_rules():
    central = template("keyledger-events.cfn.yaml")["Resources"]
    member = template("keyledger-events-member.cfn.yaml")["Resources"]
    for rule in (central["CentralRule"], central["LocalRule"], member["ForwardRule"]):
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.iam"]
        assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
        assert sorted(pattern["detail"]["eventName"]) == sorted(EVENT_NAMES)
    queue = central["EventsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"GetAtt": "DeadLetterQueue.Arn"}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    (statement,) = central["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"GetAtt": "CentralRule.Arn"}, {"GetAtt": "LocalRule.Arn"}]
    target = member["ForwardRule"]["Properties"]["Targets"][0]
    assert target["Arn"] == {"Ref": "CentralEventBusArn"} and "RoleArn" in target
