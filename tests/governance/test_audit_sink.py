"""The optional write-once copy of the audit log: S3 with Object Lock (moto), or syslog/TCP.

moto lets a retention be shortened and versioning be suspended (AWS does not; see NOTES),
so these tests cannot prove the S3 copy tamper-proof. They prove what Keyledger controls:
every object is put with the Object Lock retention headers and a checksum, the content
round-trips and verifies as a chain on its own, shipping happens after commit, a failed
batch is sent again and nothing is lost or shipped twice, and the shipped IAM policy is
exactly what the writes need.
"""

import contextlib
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from django.db import transaction
from django.urls import reverse
from moto.core import enable_iam_authentication

from core.audit import audit
from core.audit_chain import walk
from governance.audit_sink import audit_events_forward, configured_sink
from governance.aws.session import client_hooks
from governance.models import AuditEvent, AuditForwarding
from tests.factories import personas

pytestmark = pytest.mark.django_db
BUCKET = "keyledger-audit-archive"
PREFIX = "keyledger-audit/"
POLICY = Path(__file__).resolve().parents[2] / "deploy/aws/keyledger-audit-sink-policy.json"


def write(n: int, start: int = 0) -> list[AuditEvent]:
    return [audit(actor=None, action="test.ship", object_type="X", object_id=str(i),
                  summary=f"event {i} é", after={"n": i, "ratio": 1.0})
            for i in range(start, start + n)]


def lock_bucket(name: str = BUCKET) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(
        Bucket=name, ObjectLockEnabledForBucket=True)


@pytest.fixture
def s3_sink(aws, settings):
    settings.KEYLEDGER_AUDIT_SINK = "s3"
    settings.KEYLEDGER_AUDIT_SINK_BUCKET = BUCKET
    settings.KEYLEDGER_AUDIT_SINK_PREFIX = PREFIX
    settings.KEYLEDGER_AUDIT_SINK_RETENTION_DAYS = 30
    settings.KEYLEDGER_AUDIT_SINK_LOCK_MODE = "COMPLIANCE"
    return boto3.client("s3", region_name="us-east-1")


def shipped_lines(s3) -> list[dict]:
    """Every event in the bucket, from every object, oldest object first."""
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    return [json.loads(line) for key in keys
            for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()]


def as_rows(lines: list[dict]) -> list[dict]:
    return [{**line, "at": datetime.fromisoformat(line["at"])} for line in lines]


def test_events_are_put_after_commit_as_locked_objects_that_round_trip(
        s3_sink, django_capture_on_commit_callbacks):
    lock_bucket()
    sent_headers = []

    def capture(_account, client):
        client.meta.events.register(
            "before-send.s3.PutObject",
            lambda request, **_kw: sent_headers.append(dict(request.headers)))

    with client_hooks(capture), django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            events = write(3)
        assert s3_sink.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0  # not before

    key = f"{PREFIX}{events[0].pk:012d}-{events[-1].pk:012d}.jsonl"
    assert [o["Key"] for o in s3_sink.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    headers = {name.lower(): value.decode() if isinstance(value, bytes) else value
               for name, value in sent_headers[0].items()}
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    retain = datetime.fromisoformat(headers["x-amz-object-lock-retain-until-date"]
                                    .replace("Z", "+00:00"))
    assert abs(retain - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    assert "x-amz-checksum-sha256" in headers or "x-amz-trailer" in headers
    head = s3_sink.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs(head["ObjectLockRetainUntilDate"] - retain) < timedelta(seconds=1)
    # (moto 5.2.5 answers GetObjectRetention with a 500, so HeadObject is the read-back.)

    lines = shipped_lines(s3_sink)
    stored = list(AuditEvent.objects.order_by("id").values(
        "id", "summary", "after", "prev_hash", "hash", "actor_label", "action"))
    assert [{k: line[k] for k in stored[0]} for line in lines] == stored
    assert walk(as_rows(lines)).ok  # the copy verifies as a chain on its own

    with pytest.raises(ClientError):  # the locked version's delete is refused
        s3_sink.delete_object(Bucket=BUCKET, Key=key, VersionId=head["VersionId"])


def test_a_failed_ship_is_sent_again_and_nothing_is_lost_or_repeated(s3_sink, client):
    first = write(2)  # the bucket does not exist yet: every put fails

    failed = audit_events_forward()
    write(2, start=2)
    audit_events_forward()

    state = AuditForwarding.objects.get(sink=f"s3://{BUCKET}/{PREFIX}")
    assert failed.shipped == 0 and "NoSuchBucket" in failed.error
    assert (state.last_event_id, state.failures) == (0, 2) and "NoSuchBucket" in state.last_error
    client.force_login(personas()["security"])
    page = client.get(reverse("audit-log")).content.decode()
    assert "has failed 2 times in a row since event #0" in page and "NoSuchBucket" in page

    lock_bucket()
    done = audit_events_forward(batch=3)
    again = audit_events_forward()

    ids = [line["id"] for line in shipped_lines(s3_sink)]
    assert ids == list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert ids[0] == first[0].pk and len(ids) == 4 and (done.shipped, again.shipped) == (4, 0)
    state.refresh_from_db()
    assert (state.last_event_id, state.failures, state.last_error) == (ids[-1], 0, "")
    page = client.get(reverse("audit-log")).content.decode()
    assert f"every event through #{ids[-1]}" in page


def test_a_rolled_back_decision_is_never_shipped(s3_sink, django_capture_on_commit_callbacks):
    lock_bucket()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(RuntimeError), transaction.atomic():
        write(1)
        raise RuntimeError("the decision failed")
    assert callbacks == [] and audit_events_forward().shipped == 0

    with django_capture_on_commit_callbacks(execute=True):
        kept = write(1, start=1)
    assert [line["id"] for line in shipped_lines(s3_sink)] == [kept[0].pk]


def test_forwarding_is_off_unless_configured(settings, django_capture_on_commit_callbacks):
    settings.KEYLEDGER_AUDIT_SINK = ""
    with django_capture_on_commit_callbacks() as callbacks:
        write(1)
    assert len(callbacks) == 1  # only the log line
    assert configured_sink() is None and audit_events_forward().shipped == 0
    assert not AuditForwarding.objects.exists()


class SyslogCollector:
    """A TCP syslog receiver (RFC 6587 octet counting) on a loopback port."""

    def __init__(self, port: int = 0):
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.messages: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            data = b""
            with connection:
                while chunk := connection.recv(65536):
                    data += chunk
            while data:
                length, _, rest = data.partition(b" ")
                self.messages.append(rest[:int(length)])
                data = rest[int(length):]

    def close(self):
        with contextlib.suppress(OSError):  # wakes accept(): close alone leaves it listening
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


def test_syslog_sink_sends_rfc5424_json_lines_and_retries_a_refused_connection(settings):
    placeholder = socket.socket()  # holds a port with nothing listening: refused
    placeholder.bind(("127.0.0.1", 0))
    port = placeholder.getsockname()[1]
    settings.KEYLEDGER_AUDIT_SINK = "syslog"
    settings.KEYLEDGER_AUDIT_SINK_SYSLOG = f"tcp://127.0.0.1:{port}"
    events = write(3)

    refused = audit_events_forward()
    assert refused.shipped == 0 and "refused" in refused.error.lower()

    placeholder.close()
    collector = SyslogCollector(port)
    try:
        assert audit_events_forward().shipped == 3
    finally:
        collector.close()

    assert len(collector.messages) == 3
    header, _, body = collector.messages[0].decode().partition(" keyledger - audit - ")
    assert header.startswith("<86>1 ")  # authpriv.info, RFC 5424
    lines = [json.loads(m.decode().partition(" keyledger - audit - ")[2])
             for m in collector.messages]
    assert [line["hash"] for line in lines] == [e.hash for e in events]
    assert walk(as_rows(lines)).ok
    assert AuditForwarding.objects.get(sink=f"syslog+tcp://127.0.0.1:{port}").last_event_id \
        == events[-1].pk


@pytest.fixture
def host_granted(s3_sink, monkeypatch):
    """Keyledger's host principal, holding only the shipped sink policy (``grant(actions)``
    narrows it); moto's IAM authorization checks its writes against the bucket and key."""
    lock_bucket()
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="keyledger-host")
    key = iam.create_access_key(UserName="keyledger-host")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    def grant(actions: list[str]) -> None:
        policy = json.loads(POLICY.read_text().replace("KEYLEDGER-AUDIT-BUCKET", BUCKET))
        policy["Statement"][0]["Action"] = actions
        iam.put_user_policy(UserName="keyledger-host", PolicyName="sink",
                            PolicyDocument=json.dumps(policy))

    return grant


SINK_ACTIONS = json.loads(POLICY.read_text())["Statement"][0]["Action"]


def test_the_shipped_sink_policy_is_enough(host_granted):
    host_granted(SINK_ACTIONS)
    write(2)
    with enable_iam_authentication():
        result = audit_events_forward()
    assert (result.shipped, result.error) == (2, "")


def test_without_put_object_the_failure_names_it(host_granted):
    """(moto checks the API's own action; s3:PutObjectRetention, which AWS also requires for
    a put with retention headers, is in the policy but not checked by moto.)"""
    host_granted([a for a in SINK_ACTIONS if a != "s3:PutObject"])
    write(1)
    with enable_iam_authentication():
        result = audit_events_forward()
    assert result.shipped == 0 and "AccessDenied on s3:PutObject" in result.error


def test_a_broker_that_cannot_take_the_task_delays_shipping_but_never_the_decision(
        s3_sink, monkeypatch, django_capture_on_commit_callbacks):
    from governance import tasks

    lock_bucket()

    def down():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.forward_audit_events, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        event = write(1)[0]  # committed, and no exception reaches the caller

    assert shipped_lines(s3_sink) == []
    assert audit_events_forward().shipped == 1  # the 5-minute run
    assert [line["id"] for line in shipped_lines(s3_sink)] == [event.pk]
