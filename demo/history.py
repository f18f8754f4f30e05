"""A past for the demo's trend charts: one daily snapshot per day before today, each taken
from the keys as they stood that day.

A fresh demo has synced once, so the daily task would have one snapshot: a point, not a
line. The past days are replayed in a transaction that is rolled back: keys not created yet
are set aside, keys deleted since are put back, a key used since counts as used that day,
a key a sync saw deactivated since was active; the keys are evaluated by the same rules at
that day's noon and ``snapshot_take`` (the daily task's code) records the counts. Only the
snapshot rows are kept, so the keys, findings and audit log stay those of today. The
replay knows nothing of past owners, registrations or exceptions: it shows how ageing keys
drift into rotation and use findings, which is what a security team sees on a real trend.

An organization working down its keys has retired some in those months, so the history
first records them in the inventory (``retired_keys``): old keys of service users since
deleted from AWS, one a day of the history, each with the sync's ``appeared`` and
``removed`` events. The replay counts them until the day they went, so the burn-down
(``reduction.burndown``) is a line going down, and the page's weekly numbers read from the
keys agree with the snapshots.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Person
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AccessKeyEvent, AwsAccount, DailySnapshot, IamUser
from governance.trends import snapshot_take

HISTORY_DAYS = 120
RETIRED_EVERY_DAYS = 1  # a key retired every day of the history
RETIRED_ID = "AIDARETIRED"  # the retired keys' users' ids, then the day the key went
RETIRED_USERS = ("svc-ftp-bridge", "svc-legacy-reports", "ci-jenkins", "svc-old-crm",
                 "etl-nightly", "svc-fax-gateway", "backup-agent", "svc-sms-legacy")
SNAPSHOT_FIELDS = ("day", "account_id", "dimension", "name", "count")


def seed_history(*, days: int = HISTORY_DAYS, today: date | None = None) -> int:
    """Snapshots for the ``days - 1`` days before ``today`` (today's is the daily task's);
    the number of snapshot rows written.

    The days are replayed oldest first in one transaction, rolled back at the end: from one
    day to the next only a few keys change, so each evaluation writes little.
    """
    today = today or timezone.localdate()
    retired_keys(days=days, today=today)
    keys = {pk: (created, removed, used) for pk, created, removed, used in
            AccessKey.objects.values_list("pk", "created_at", "removed_at", "last_used_at")}
    shown = {pk: (removed, used) for pk, (_created, removed, used) in keys.items()}
    deactivated = _seen_deactivated()
    rows: list[tuple] = []
    with transaction.atomic():
        still_active: set[int] = set()
        for back in range(days - 1, 0, -1):
            day = today - timedelta(days=back)
            noon = datetime.combine(day, time(12), tzinfo=UTC)
            still_active = _statuses_as_of(noon, deactivated, still_active)
            _keys_as_of(noon, keys, shown)
            snapshot_take(day=day)
            rows += DailySnapshot.objects.filter(day=day).values_list(*SNAPSHOT_FIELDS)
        transaction.set_rollback(True)
    with transaction.atomic():
        DailySnapshot.objects.filter(day__in={row[0] for row in rows}).delete()
        DailySnapshot.objects.bulk_create(
            [DailySnapshot(**dict(zip(SNAPSHOT_FIELDS, row, strict=True))) for row in rows])
    return len(rows)


def _seen_deactivated() -> dict[int, datetime]:
    """Inactive keys a sync saw deactivated (after their first sighting), and when: they were
    active before that, as the burn-down counts them (``reduction.burndown``)."""
    return dict(AccessKey.objects.filter(status=AccessKey.Status.INACTIVE,
                                         status_changed_at__gt=F("first_seen_at"))
                .values_list("pk", "status_changed_at"))


def _statuses_as_of(noon: datetime, deactivated: dict[int, datetime],
                    active_before: set[int]) -> set[int]:
    """Set Active the keys deactivated after ``noon``, Inactive again those deactivated by
    then; the keys now Active for the day (``active_before``: the previous day's)."""
    active = {pk for pk, at in deactivated.items() if at > noon}
    AccessKey.objects.filter(pk__in=active - active_before).update(
        status=AccessKey.Status.ACTIVE)
    AccessKey.objects.filter(pk__in=active_before - active).update(
        status=AccessKey.Status.INACTIVE)
    return active


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


@transaction.atomic
def retired_keys(*, days: int, today: date) -> int:
    """Keys retired during the ``days`` before ``today``: one every ``RETIRED_EVERY_DAYS``,
    on service users deleted from AWS with them (so no present user gains a key), spread
    over the accounts and the people who own keys today; the number of keys written.

    Each was created 200 to 500 days before it went and seen by Keyledger from the start of
    the history, active until a sync found it deleted (``removed_at``)."""
    accounts = list(AwsAccount.objects.order_by("account_id"))
    owners = list(Person.objects.filter(pk__in=AccessKey.objects.filter(
        owner__isnull=False).values("owner")).order_by("email"))
    if not accounts or days <= 1:
        return 0
    start = datetime.combine(today - timedelta(days=days - 1), time(9), tzinfo=UTC)
    # A rerun over more days adds the older ones: each day's key is named by its date.
    done = set(IamUser.objects.filter(user_id__startswith=RETIRED_ID)
               .values_list("user_id", flat=True))
    written = 0
    for back in range(1, days, RETIRED_EVERY_DAYS):
        removed = datetime.combine(today - timedelta(days=back), time(10), tzinfo=UTC)
        user_id = f"{RETIRED_ID}{removed:%Y%m%d}"
        if user_id in done:
            continue
        i = back // RETIRED_EVERY_DAYS
        created = removed - timedelta(days=200 + (i * 37) % 300)
        account = accounts[i % len(accounts)]
        owner = owners[i % len(owners)] if owners else None
        name = f"{RETIRED_USERS[i % len(RETIRED_USERS)]}-{i:02d}"
        user = IamUser.objects.create(
            account=account, user_id=user_id, name=name,
            arn=f"arn:aws:iam::{account.account_id}:user/retired/{name}", path="/retired/",
            created_at=created, tags={"owner": owner.email} if owner else {},
            removed_at=removed)
        seen = max(created, start - timedelta(days=30))
        key = AccessKey.objects.create(
            account=account, user=user, access_key_id=f"AKIARETIRED{removed:%Y%m%d}",
            status=AccessKey.Status.ACTIVE, created_at=created, status_changed_at=seen,
            last_used_at=removed - timedelta(days=3), last_used_service="s3",
            last_used_region="eu-west-1", owner=owner, removed_at=removed)
        AccessKey.objects.filter(pk=key.pk).update(first_seen_at=seen)
        AccessKeyEvent.objects.bulk_create([
            AccessKeyEvent(key=key, kind=AccessKeyEvent.Kind.APPEARED, at=seen),
            AccessKeyEvent(key=key, kind=AccessKeyEvent.Kind.REMOVED, at=removed)])
        written += 1
    return written
