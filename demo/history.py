"""A past for the demo's trend charts: one daily snapshot per day before today, each taken
from the keys as they stood that day.

A fresh demo has synced once, so the daily task would have one snapshot: a point, not a
line. The past days are replayed in a transaction that is rolled back: keys not created yet
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
    the number of snapshot rows written.

    The days are replayed oldest first in one transaction, rolled back at the end: from one
    day to the next only a few keys change, so each evaluation writes little.
    """
    today = today or timezone.localdate()
    keys = {pk: (created, removed, used) for pk, created, removed, used in
            AccessKey.objects.values_list("pk", "created_at", "removed_at", "last_used_at")}
    shown = {pk: (removed, used) for pk, (_created, removed, used) in keys.items()}
    rows: list[tuple] = []
    with transaction.atomic():
        for back in range(days - 1, 0, -1):
            day = today - timedelta(days=back)
            _keys_as_of(datetime.combine(day, time(12), tzinfo=UTC), keys, shown)
            snapshot_take(day=day)
            rows += DailySnapshot.objects.filter(day=day).values_list(*SNAPSHOT_FIELDS)
        transaction.set_rollback(True)
    with transaction.atomic():
        DailySnapshot.objects.filter(day__in={row[0] for row in rows}).delete()
        DailySnapshot.objects.bulk_create(
            [DailySnapshot(**dict(zip(SNAPSHOT_FIELDS, row, strict=True))) for row in rows])
    return len(rows)


def _keys_as_of(noon: datetime, keys: dict, shown: dict) -> None:
    """Make the key rows what they were at ``noon`` and evaluate them then: a key not created
    yet is set aside (removed), one deleted since is present, one used since was used that
    day. ``shown`` holds what the rows say now (removed_at, last_used_at) and is updated."""
    changed, used_since = [], []
    for pk, (created, removed, used) in keys.items():
        want: tuple[datetime | None, datetime | None]
        if created is not None and created > noon:
            want = (created, None)  # set aside until the day it was created
        else:
            want = (removed if removed is not None and removed <= noon else None,
                    noon if used is not None and used > noon else used)
        if want[1] == noon:
            used_since.append(pk)  # one UPDATE moves all of these to this noon
        if want[0] != shown[pk][0] or (want[1] != shown[pk][1] and want[1] != noon):
            changed.append(AccessKey(pk=pk, removed_at=want[0], last_used_at=want[1]))
        shown[pk] = want
    AccessKey.objects.filter(pk__in=used_since).update(last_used_at=noon)
    if changed:
        AccessKey.objects.bulk_update(changed, ["removed_at", "last_used_at"])
    evaluate_keys(now=noon)
