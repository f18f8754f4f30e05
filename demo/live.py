"""Live changes in the demo: the EventBridge rule -> SQS queue wiring of
``deploy/aws/keyledger-events.cfn.yaml``, made in moto, and the events consumer running on it
while the demo serves.

moto's IAM emits no CloudTrail events, so the demo adds what CloudTrail and EventBridge do
in AWS: after each successful IAM call the rule forwards (``evidence.events.EVENT_NAMES``),
the call is put on the management account's default bus as an ``AWS API Call via
CloudTrail`` event naming the member account, and moto's rule delivers it to the queue.
``aws iam create-access-key --endpoint-url …`` against the demo's emulator therefore
reaches Keyledger the way a real change does: event, queue, consumer, one user re-read.
Must run where moto runs (it wraps moto's IAM responses and uses its EventBridge backend).
"""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest.mock import patch

import boto3
from django.db import connection

from evidence.consumer import Consumer
from evidence.events import DETAIL_TYPE, EVENT_NAMES, SOURCE
from governance.aws.events_queue import EventQueue

from .seed import REGION

QUEUE_NAME = "keyledger-key-changes"
RULE_NAME = "keyledger-iam-key-changes"
WAIT_SECONDS = 2  # short long-polls, so stopping the demo is quick


def wire_events() -> str:
    """The queue and the rule forwarding IAM's key, user and group changes to it, in the
    ambient (management) account; the queue's URL."""
    session = boto3.Session(region_name=REGION)
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events.put_rule(Name=RULE_NAME, EventPattern=json.dumps({
        "source": [SOURCE], "detail-type": [DETAIL_TYPE],
        "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": list(EVENT_NAMES)}}))
    events.put_targets(Rule=RULE_NAME, Targets=[{"Id": "keyledger-queue", "Arn": arn}])
    return url


def cloudtrail_record(*, action: str, account_id: str, access_key_id: str,
                      params: dict[str, str], when: datetime) -> dict:
    """The CloudTrail record of one IAM call, with the fields ``evidence.events`` reads."""
    request = {name: value for name, value in (
        ("userName", params.get("UserName")), ("groupName", params.get("GroupName")),
        ("newUserName", params.get("NewUserName")), ("accessKeyId", params.get("AccessKeyId")),
        ("status", params.get("Status"))) if value}
    return {
        "eventVersion": "1.09", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "iam.amazonaws.com", "eventName": action, "awsRegion": "us-east-1",
        "sourceIPAddress": "127.0.0.1", "userAgent": "demo",
        "userIdentity": {"type": "IAMUser", "accountId": account_id,
                         "accessKeyId": access_key_id},
        "requestParameters": request or None, "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall", "recipientAccountId": account_id,
    }


@contextmanager
def iam_emits_events(management_account_id: str):
    """While open, each successful IAM call among ``EVENT_NAMES`` made against this
    process's moto is put on the management account's default bus, as CloudTrail would."""
    from moto.events.models import events_backends
    from moto.iam.responses import IamResponse

    original = IamResponse.call_action

    def call_action(self):
        result = original(self)
        action = self._get_action()
        if action in EVENT_NAMES and int(result[0]) < 400:
            record = cloudtrail_record(
                action=action, account_id=self.current_account,
                access_key_id=self.get_access_key(),
                params={name: self._get_param(name) for name in (
                    "UserName", "GroupName", "NewUserName", "AccessKeyId", "Status")},
                when=datetime.now(UTC))
            events_backends[management_account_id][REGION].put_events([{
                "Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(record),
                "Resources": [], "EventBusName": "default"}])
        return result

    with patch.object(IamResponse, "call_action", call_action):  # undone on exit
        yield


class LiveChanges:
    """``consume_events`` in a thread of this process, on the demo's queue."""

    def __init__(self, queue_url: str):
        self.consumer = Consumer(EventQueue(queue_url), wait_seconds=WAIT_SECONDS,
                                 visibility_seconds=30, retry_seconds=5)
        self._thread = threading.Thread(target=self._run, name="consume-events", daemon=True)

    def _run(self) -> None:
        try:
            self.consumer.run()
        finally:
            connection.close()  # this thread's own database connection

    def start(self) -> LiveChanges:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Finish the message in hand and end the thread (within one long-poll)."""
        self.consumer.stop()
        self._thread.join(timeout=WAIT_SECONDS + 10)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


@contextmanager
def live_changes(management_account_id: str, queue_url: str):
    """IAM calls become events and the consumer runs, until the block ends."""
    with iam_emits_events(management_account_id):
        changes = LiveChanges(queue_url).start()
        try:
            yield changes
        finally:
            changes.stop()
