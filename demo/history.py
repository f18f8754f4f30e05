"""A past for the demo's trend charts: one daily snapshot per day before today, each taken
from the keys as they stood that day.

A fresh demo has synced once, so the daily task would have one snapshot: a point, not a
line. Each past day is replayed in a transaction that is rolled back: keys not created yet
are set aside, keys deleted since are put back, a key used since counts as used that day;
the keys are evaluated by the same rules at that day's noon and ``snapshot_take`` (the daily
task's code) records the counts. Only the snapshot rows are kept, so the keys, findings and
audit log stay those of today. The replay knows nothing of past owners, registrations or
exceptions: it shows how ageing keys drift into rotation and use findings, which is what
a security team sees on a real trend.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey, DailySnapshot
from governance.trends import snapshot_take

HISTORY_DAYS = 120
SNAPSHOT_FIELDS = ("day", "account_id", "dimension", "name", "count")


def seed_history(*, days: int = HISTORY_DAYS, today: date | None = None) -> int:
    """Snapshots for the ``days - 1`` days before ``today`` (today's is the daily task's);
    the number of snapshot rows written."""
    today = today or timezone.localdate()
    written = 0
    with transaction.atomic():  # one commit: each day is a savepoint rolled back
        for back in range(days - 1, 0, -1):
            written += _snapshot_as_of(today - timedelta(days=back))
    return written


def _snapshot_as_of(day: date) -> int:
    noon = datetime.combine(day, time(12), tzinfo=UTC)
    with transaction.atomic():
        keys = AccessKey.objects.all()
        keys.filter(removed_at__gt=noon).update(removed_at=None)
        keys.filter(created_at__gt=noon).update(removed_at=noon)
        keys.filter(last_used_at__gt=noon).update(last_used_at=noon)
        evaluate_keys(now=noon)
        snapshot_take(day=day)
        rows = list(DailySnapshot.objects.filter(day=day).values_list(*SNAPSHOT_FIELDS))
        transaction.set_rollback(True)
    DailySnapshot.objects.bulk_create(
        [DailySnapshot(**dict(zip(SNAPSHOT_FIELDS, row, strict=True))) for row in rows])
    return len(rows)
