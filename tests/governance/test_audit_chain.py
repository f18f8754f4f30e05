"""The audit log is a hash chain: each event's hash covers its content and the hash before it.

``manage.py verify_audit`` walks it and names the first broken link; the audit log page
shows the last verification. Tampering is done the only way left (tests/governance/
test_audit_protection.py): as the owner, with the triggers off (replica mode).
"""

import importlib
import io
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.audit import audit, audit_chain_verify
from core.audit_chain import GENESIS, ROW_FIELDS, event_hash
from governance.models import AuditEvent, AuditVerification
from tests.factories import personas

pytestmark = pytest.mark.django_db


def write(n: int, start: int = 0, **fields) -> list[AuditEvent]:
    return [audit(actor=None, action="test.write", object_type="X", object_id=str(i),
                  summary=f"event {i}", **fields) for i in range(start, start + n)]


def as_owner_with_triggers_off(*statements):
    """What only the tables' owner (or a superuser) can still do: bypass the triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for statement, params in statements:
            cursor.execute(statement, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def verify_fails() -> str:
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit")
    assert failed.value.returncode == 1
    return str(failed.value)


def test_each_event_is_chained_to_the_one_before_it():
    first, second, third = write(3)
    rows = {row["id"]: row for row in AuditEvent.objects.values(*ROW_FIELDS)}

    assert rows[first.pk]["prev_hash"] == GENESIS
    assert rows[second.pk]["prev_hash"] == rows[first.pk]["hash"]
    assert rows[third.pk]["prev_hash"] == rows[second.pk]["hash"]
    for row in rows.values():  # recomputed from what the database returns
        assert row["hash"] == event_hash(row, row["prev_hash"])
    assert len({row["hash"] for row in rows.values()}) == 3


def test_the_hash_survives_the_database_round_trip_of_any_json_and_time():
    """jsonb keeps numbers as decimals (3.0 and 1e16 read back as whole numbers) and
    timestamps in UTC; the hash is of what is stored, so it verifies after reading back."""
    tricky = {"float": 3.0, "big": 1e16, "huge": 1.5e300, "tiny": 1e-7, "third": 1 / 3,
              "int": 2**70, "text": "é ✓ \u2028 \"quoted\" \\", "nested": [[], {}, None, True],
              "b": 1, "a": -0.0}
    at = datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=-5)))
    write(1, before=tricky, after=[tricky, "x"], at=at)
    write(1, start=1)

    call_command("verify_audit", stdout=(out := io.StringIO()))
    assert out.getvalue().startswith("audit chain intact: 2 events")


def test_verify_audit_reports_an_intact_chain_and_records_it():
    events = write(3)
    call_command("verify_audit", stdout=(out := io.StringIO()))

    assert f"3 events, newest #{events[-1].pk} (hash {events[-1].hash})" in out.getvalue()
    verification = AuditVerification.objects.get()
    assert (verification.ok, verification.events, verification.head_event_id) == (
        True, 3, events[-1].pk)


def test_a_changed_event_is_named_with_its_time_and_what_is_wrong():
    events = write(5)
    changed = events[2]
    as_owner_with_triggers_off(("UPDATE governance_auditevent SET summary = %s WHERE id = %s",
                                ["nothing happened", changed.pk]))

    message = verify_fails()

    assert f"BROKEN at event #{changed.pk} ({changed.at:%Y-%m-%d %H:%M:%S} UTC)" in message
    assert "does not match its hash" in message and "changed after it was written" in message
    assert f"intact through #{events[1].pk}" in message
    verification = AuditVerification.objects.get()
    assert (verification.ok, verification.broken_event_id, verification.events) == (
        False, changed.pk, 3)


def test_a_removed_event_breaks_the_link_of_the_next():
    events = write(5)
    as_owner_with_triggers_off(("DELETE FROM governance_auditevent WHERE id = %s",
                                [events[2].pk]))

    message = verify_fails()

    assert f"BROKEN at event #{events[3].pk}" in message
    assert f"the event before it, #{events[1].pk}" in message and "removed" in message


def test_removing_the_first_events_is_caught():
    events = write(3)
    as_owner_with_triggers_off(("DELETE FROM governance_auditevent WHERE id = %s",
                                [events[0].pk]))
    message = verify_fails()
    assert f"BROKEN at event #{events[1].pk}" in message and "is the first event" in message


def test_an_event_put_into_the_table_directly_is_caught():
    events = write(2)
    with connection.cursor() as cursor:  # plain INSERT: the app role may do this much
        cursor.execute("INSERT INTO governance_auditevent (actor_label, action, object_type, "
                       "object_id, summary, at) VALUES ('system', 'forged', 'X', '9', "
                       "'forged', now()) RETURNING id")
        forged = cursor.fetchone()[0]
    write(1, start=2)

    message = verify_fails()

    assert f"BROKEN at event #{forged}" in message and "has no hash" in message
    assert f"intact through #{events[1].pk}" in message


def test_events_removed_from_the_end_are_caught_by_the_last_verification():
    events = write(4)
    call_command("verify_audit", stdout=io.StringIO())
    as_owner_with_triggers_off(("DELETE FROM governance_auditevent WHERE id = %s",
                                [events[-1].pk]))

    message = verify_fails()

    assert f"BROKEN at event #{events[-1].pk}" in message
    assert "is gone" in message and "removed from the end" in message


def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_the_last_verification():
    """An owner who changes an event and recomputes every hash after it leaves a chain that
    is consistent in itself; the head verified before no longer matches."""
    events = write(4)
    call_command("verify_audit", stdout=io.StringIO())
    rows = list(AuditEvent.objects.order_by("id").values(*ROW_FIELDS))
    rows[1]["summary"] = "rewritten"
    prev, updates = rows[0]["hash"], []
    for row in rows[1:]:
        row["prev_hash"], row["hash"] = prev, event_hash(row, prev)
        prev = row["hash"]
        updates.append(("UPDATE governance_auditevent SET summary = %s, prev_hash = %s, "
                        "hash = %s WHERE id = %s",
                        [row["summary"], row["prev_hash"], row["hash"], row["id"]]))
    as_owner_with_triggers_off(*updates)

    message = verify_fails()

    assert f"BROKEN at event #{events[-1].pk}" in message and "rewritten" in message


def test_verification_streams_the_chain_in_batches():
    """Constant memory: keyset pages of ``batch`` rows, never the whole table at once."""
    prev, rows, at = GENESIS, [], datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(2500):
        content = {"at": at + timedelta(seconds=i), "actor_id": None, "actor_label": "system",
                   "action": "bulk", "object_type": "X", "object_id": str(i),
                   "summary": f"bulk {i}", "before": None, "after": {"i": i}}
        digest = event_hash(content, prev)
        rows.append(AuditEvent(**content, prev_hash=prev, hash=digest))
        prev = digest
    AuditEvent.objects.bulk_create(rows, batch_size=1000)

    with CaptureQueriesContext(connection) as queries:
        verification = audit_chain_verify(batch=1000)

    assert verification.ok and verification.events == 2500
    pages = [q["sql"] for q in queries.captured_queries
             if 'FROM "governance_auditevent"' in q["sql"]]
    assert len(pages) == 3 and all("LIMIT 1000" in sql for sql in pages)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_cannot_fork_the_chain():
    """Eight writers, each holding its transaction open after writing: without the chain lock
    several would read the same head and link to it (a fork)."""
    start = threading.Barrier(8)
    errors = []

    def writer(n):
        try:
            start.wait()
            for i in range(3):
                with transaction.atomic():
                    audit(actor=None, action="test.concurrent", object_type="X",
                          object_id=f"{n}-{i}", summary=f"writer {n} event {i}")
                    time.sleep(0.02)  # the transaction stays open after reading the head
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    rows = list(AuditEvent.objects.order_by("id").values("prev_hash", "hash"))
    assert len(rows) == 24
    assert len({row["prev_hash"] for row in rows}) == 24  # no two events share a parent
    assert audit_chain_verify().ok


def test_the_migration_chains_the_events_written_before_it():
    with connection.cursor() as cursor:  # events as they were before the chain existed
        for i in range(3):
            cursor.execute("INSERT INTO governance_auditevent (actor_label, action, "
                           "object_type, object_id, summary, before, at) VALUES "
                           "('system', 'old', 'X', %s, %s, %s, now())",
                           [str(i), f"old {i}", '{"n": 1.0}'])
    migration = importlib.import_module("governance.migrations.0010_audit_hash_chain")
    from django.apps import apps

    with connection.schema_editor() as editor:
        migration.chain_existing_events(apps, editor)

    assert audit_chain_verify().ok
    write(1)  # new events continue the chain
    assert audit_chain_verify().ok and AuditEvent.objects.filter(hash="").count() == 0
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEvent.objects.update(summary="x")  # the trigger is back on


def test_the_audit_page_shows_the_last_verification(client):
    client.force_login(personas()["security"])
    events = write(3)
    page = client.get(reverse("audit-log")).content.decode()
    assert "Hash chain not verified yet" in page

    audit_chain_verify()
    write(2, start=3)
    page = client.get(reverse("audit-log")).content.decode()
    assert f"intact</strong> through event #{events[-1].pk} (3 events)" in page
    assert "2 events written since" in page

    as_owner_with_triggers_off(("UPDATE governance_auditevent SET summary = 'x' WHERE id = %s",
                                [events[1].pk]))
    audit_chain_verify()
    page = client.get(reverse("audit-log")).content.decode()
    assert f"Hash chain broken at event #{events[1].pk}</strong>" in page
    assert "changed after it was written" in page


def test_the_audit_page_never_walks_the_chain(client):
    """Two indexed queries for the chain state, however many events: the page stays fast at
    100,000 events because the walk happens in the hourly task, not per view."""
    client.force_login(personas()["security"])
    write(5)
    audit_chain_verify()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("audit-log")).status_code == 200
        return len(captured.captured_queries)

    few = queries()
    write(300, start=5)
    assert queries() == few
