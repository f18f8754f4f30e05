"""Usage evidence from the organization trail: log files in CloudTrail's own format and
layout in moto's S3, read by ``read_trail`` and the Celery tasks as production reads them."""

import gzip
import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from evidence import tasks
from evidence.models import KeyUsageAddress, KeyUsageDay, TrailObject, TrailWatermark
from evidence.reading import read_batch
from evidence.usage import MAX_DISTINCT, OTHER, usage_prune
from governance.aws.session import client_hooks
from governance.aws.trail import log_object, trail_session
from tests.evidence.conftest import KEY_1, KEY_2, TEMPORARY, A, B, at, event, read_trail

pytestmark = pytest.mark.django_db


def day(days_ago: int):
    return timezone.now().date() - timedelta(days=days_ago)


def usage(key: str, days_ago: int = 0) -> KeyUsageDay:
    return KeyUsageDay.objects.get(access_key_id=key, day=day(days_ago))


def test_long_term_key_events_become_daily_counts_per_key(trail):
    trail.put([
        event(when=at(0, 9, 1), source_ip="203.0.113.10", event_name="ListBuckets"),
        event(when=at(0, 9, 7), source_ip="198.51.100.7", event_source="iam.amazonaws.com",
              event_name="ListUsers", error_code="AccessDenied"),
        event(TEMPORARY, when=at(0, 9, 8), source_ip="192.0.2.99"),
    ], when=at(0, 9, 10))
    trail.put([
        event(when=at(0, 11, 30), source_ip="203.0.113.10", event_name="GetObject",
              region="eu-west-1", user_agent="Boto3/1.34 md/Botocore#1.34"),
        event(KEY_2, account_id=B, when=at(0, 11, 31), source_ip="s3.amazonaws.com"),
    ], region="eu-west-1", when=at(0, 11, 35))

    out, code = read_trail()

    assert code == 0, out
    assert f"{A}: ok: 2 objects (2 listed, 0 malformed), 4 events kept, 2 keys seen" in out
    row = usage(KEY_1)
    assert (row.events, row.errors, row.account_id) == (3, 1, A)
    assert row.actions == {"s3:ListBuckets": 1, "iam:ListUsers": 1, "s3:GetObject": 1}
    assert row.event_sources == {"s3.amazonaws.com": 2, "iam.amazonaws.com": 1}
    assert row.regions == {"us-east-1": 2, "eu-west-1": 1}
    assert row.user_agents == {"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64": 2,
                               "Boto3/1.34 md/Botocore#1.34": 1}
    home = KeyUsageAddress.objects.get(access_key_id=KEY_1, address="203.0.113.10")
    assert (home.first_seen, home.last_seen, home.events) == (at(0, 9, 1), at(0, 11, 30), 2)
    assert not home.via_aws_service
    assert KeyUsageAddress.objects.get(access_key_id=KEY_2).via_aws_service
    # Temporary credentials are not what Keyledger governs: nothing of them is kept.
    assert not KeyUsageDay.objects.filter(access_key_id__startswith="ASIA").exists()
    assert not KeyUsageAddress.objects.filter(address="192.0.2.99").exists()


def test_reading_the_trail_again_adds_nothing(trail):
    trail.put([event(), event()], when=at(0, 8))
    read_trail()

    out, code = read_trail()

    assert code == 0
    assert "0 objects (1 listed, 0 malformed), 0 events kept, 0 keys seen" in out
    assert usage(KEY_1).events == 2
    assert KeyUsageAddress.objects.get(access_key_id=KEY_1).events == 2


def test_a_batch_delivered_twice_counts_once(trail):
    keys = [trail.put([event()], when=at(0, h)) for h in (1, 2, 3)]
    batch = [log_object(k) for k in keys]
    session = trail_session()

    first = read_batch(session, batch)
    again = read_batch(session, batch)  # a redelivered task, or a second worker

    assert (first.stored.stored, again.stored.stored, again.stored.already) == (3, 0, 3)
    assert usage(KEY_1).events == 3


def test_malformed_and_truncated_objects_are_recorded_and_skipped(trail):
    good = json.dumps({"Records": [event()]}).encode()
    truncated = trail.put_raw(gzip.compress(good)[:-12], name="truncated", when=at(0, 1))
    not_gzip = trail.put_raw(b"<html>not a log</html>", name="notgzip", when=at(0, 2))
    cut_json = trail.put_raw(gzip.compress(good[:-30]), name="cutjson", when=at(0, 3))
    not_trail = trail.put_raw(gzip.compress(b'{"Events": []}'), name="other", when=at(0, 4))
    trail.put([event(), event(error_code="AccessDenied")], when=at(0, 5))

    out, code = read_trail()

    assert code == 0, out
    assert "5 objects (5 listed, 4 malformed), 2 events kept, 1 keys seen" in out
    reasons = dict(TrailObject.objects.filter(status=TrailObject.Status.MALFORMED)
                   .values_list("key", "reason"))
    assert set(reasons) == {truncated, not_gzip, cut_json, not_trail}
    assert "truncated" in reasons[truncated]
    assert "not gzip" in reasons[not_gzip]
    assert "truncated or invalid JSON" in reasons[cut_json]
    assert "Records" in reasons[not_trail]
    # The truncated file's one readable event is not counted: a file counts whole or not.
    assert (usage(KEY_1).events, usage(KEY_1).errors) == (2, 1)
    assert "0 objects" in read_trail()[0]  # recorded: never fetched again


def test_the_watermark_skips_days_already_read(trail):
    trail.put([event(when=at(3))], when=at(3))
    trail.put([event(when=at(0))], when=at(0))
    read_trail()
    assert TrailWatermark.objects.get(account_id=A, region="us-east-1").day == day(0)
    # A file that appears in an old day's folder now is never even listed.
    trail.put([event(when=at(3))] * 5, when=at(3, 23))
    trail.put([event(when=at(0, 12))], when=at(0, 12))
    calls = []

    def count_list_calls(_account, client):
        client.meta.events.register("before-parameter-build.s3.ListObjectsV2",
                                    lambda params, **_: calls.append(params.get("StartAfter")))

    with client_hooks(count_list_calls):
        out, code = read_trail()

    assert "1 objects (2 listed, 0 malformed)" in out
    assert (usage(KEY_1, 3).events, usage(KEY_1, 0).events) == (1, 2)
    assert [c for c in calls if c] == [f"AWSLogs/o-a1b2c3d4e5/{A}/CloudTrail/us-east-1/"
                                       f"{day(0):%Y/%m/%d}"]


def test_days_bounds_a_first_read(trail):
    for days_ago in (0, 1, 2, 5):
        trail.put([event(when=at(days_ago))], when=at(days_ago))

    out, code = read_trail(A, "--days", "3")

    assert "3 objects (3 listed" in out
    assert set(KeyUsageDay.objects.values_list("day", flat=True)) == {day(0), day(1), day(2)}


def test_a_file_s3_refuses_fails_the_account_and_is_read_next_time(trail):
    trail.put([event(when=at(1))], when=at(1))
    refused = trail.put([event(when=at(1, 12))], when=at(1, 12))
    trail.put([event(when=at(0))], when=at(0))

    def deny(_account, client):
        def refuse(params, **_):
            if params["Key"] == refused:
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}},
                                  "GetObject")
        client.meta.events.register("before-parameter-build.s3.GetObject", refuse)

    with client_hooks(deny):
        out, code = read_trail()

    assert code == 1
    assert "FAILED" in out and "AccessDenied on s3:GetObject" in out and refused in out
    assert TrailWatermark.objects.get(account_id=A).day == day(1)  # not past the unread file
    out, code = read_trail()
    assert code == 0 and "1 objects" in out
    assert (usage(KEY_1, 1).events, usage(KEY_1, 0).events) == (2, 1)


def test_strings_from_the_trail_are_clipped_and_bounded(trail):
    hostile = "curl/8 \x00\x1b[31m" + "A" * 5000
    trail.put([event(user_agent=hostile)]
              + [event(user_agent=f"agent-{n}") for n in range(MAX_DISTINCT + 20)])

    read_trail()

    agents = usage(KEY_1).user_agents
    assert len(agents) == MAX_DISTINCT + 1 and agents[OTHER] == 21
    clipped = next(a for a in agents if a.startswith("curl"))
    assert len(clipped) <= 256 and "\x00" not in clipped and "\x1b" not in clipped
    assert sum(agents.values()) == usage(KEY_1).events


def test_accounts_outside_an_organization_prefix_and_unknown_keys_are_read(trail):
    trail.put([event(KEY_2, account_id=B)], account_id=B, org_id="")
    trail.client.put_object(Bucket="org-trail-logs", Key="AWSLogs/README.txt", Body=b"x")
    trail.client.put_object(Bucket="org-trail-logs",
                            Key=f"AWSLogs/{A}/CloudTrail/not-a-region/2026/01/01/x.json.gz",
                            Body=b"x")

    out, code = read_trail()

    assert code == 0, out
    assert f"{B}: ok: 1 objects" in out and "2 of 2 accounts read" in out
    assert f"{A}: ok: 0 objects (0 listed" in out  # its one key is outside the layout
    assert usage(KEY_2).account_id == B  # no inventory row needed: linked by key id later


def test_records_split_across_reads_and_pretty_printed_files_parse(trail, monkeypatch):
    monkeypatch.setattr("governance.aws.trail.READ_CHUNK", 7)
    body = json.dumps({"Records": [event(), event(), event(TEMPORARY)]}, indent=2).encode()
    trail.put_raw(gzip.compress(body), name="pretty")
    trail.put_raw(gzip.compress(b' { "Records" : [ ] } \n'), name="empty", when=at(0, 11))

    out, code = read_trail()

    assert "2 objects (2 listed, 0 malformed), 2 events kept" in out
    assert TrailObject.objects.get(key__contains="pretty").records == 3


def test_old_evidence_is_pruned_by_the_retention_setting(trail, settings):
    settings.KEYLEDGER_EVIDENCE_RETENTION_DAYS = 30
    trail.put([event(when=at(29))], when=at(29))
    trail.put([event(when=at(0))], when=at(0))
    read_trail("--days", "30")

    deleted = usage_prune(today=timezone.now().date() + timedelta(days=1))

    assert deleted == 3  # the day row, its address and the file's record
    assert list(KeyUsageDay.objects.values_list("day", flat=True)) == [day(0)]
    assert TrailObject.objects.count() == 1


def test_the_celery_tasks_fan_out_in_batches_and_count_the_same(trail, settings):
    settings.KEYLEDGER_TRAIL_BATCH_OBJECTS = 2
    for hour in range(5):
        trail.put([event(when=at(0, hour)), event(KEY_2, when=at(0, hour))], when=at(0, hour))
    trail.put([event(when=at(0, 6))], account_id=B, when=at(0, 6))
    batches = []
    original = tasks.read_trail_batch.delay
    settings.CELERY_TASK_ALWAYS_EAGER = True

    def spy(keys):
        batches.append(len(keys))
        return original(keys)

    tasks.read_trail_batch.delay = spy
    try:
        queued = tasks.read_trail.delay().get()
    finally:
        tasks.read_trail_batch.delay = original

    assert queued == 2
    assert sorted(batches) == [1, 1, 2, 2]
    assert (usage(KEY_1).events, usage(KEY_2).events) == (6, 5)


def test_reading_needs_a_configured_bucket(settings):
    settings.KEYLEDGER_TRAIL_BUCKET = ""
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="KEYLEDGER_TRAIL_BUCKET"):
        read_trail()
    assert tasks.read_trail() == 0


def test_beat_reads_the_trail_and_prunes_it_on_registered_tasks():
    from config.celery import app, beat_schedule

    scheduled = {entry["task"] for entry in beat_schedule(60).values()}
    wanted = {"evidence.tasks.read_trail", "evidence.tasks.prune_usage_evidence"}
    assert wanted <= scheduled
    assert wanted <= set(app.tasks)


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_the_same_files_and_keys_count_each_file_once(trail, monkeypatch):
    """Four workers at once: two with one batch, two with another batch of the same key.
    All four reach the claim together; each file is counted by exactly one of them."""
    import threading

    from django.db import connection

    from evidence import usage

    first = [log_object(trail.put([event(when=at(0, h))] * 2, when=at(0, h))) for h in (1, 2)]
    second = [log_object(trail.put([event(when=at(0, h))] * 3, when=at(0, h))) for h in (3, 4)]
    barrier = threading.Barrier(4, timeout=30)
    claim = usage._claim

    def claim_together(reads):
        barrier.wait()
        return claim(reads)

    monkeypatch.setattr(usage, "_claim", claim_together)
    outcomes = []

    def worker(batch):
        try:
            outcomes.append(read_batch(trail_session(), batch).stored)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(b,)) for b in (first, first, second, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(o.stored for o in outcomes) == [0, 0, 2, 2]
    assert usage_row_events() == 2 * 2 + 2 * 3
    assert KeyUsageAddress.objects.get(access_key_id=KEY_1).events == 10


def usage_row_events() -> int:
    return KeyUsageDay.objects.get(access_key_id=KEY_1, day=day(0)).events


def test_an_account_trail_and_the_organization_trail_of_one_account_are_both_read(trail):
    trail.put([event(when=at(1))], when=at(1), org_id="")  # before the organization trail
    trail.put([event(when=at(0))], when=at(0))

    out, code = read_trail()
    trail.put([event(when=at(0, 12))], when=at(0, 12), org_id="")
    again, _code = read_trail()

    assert code == 0 and f"{A}: ok: 2 objects (2 listed" in out
    assert "1 objects" in again
    assert (usage(KEY_1, 1).events, usage(KEY_1, 0).events) == (1, 2)
