"""The daily snapshot behind trend charts: counts per account and dimension, kept for years.

Taken from the summary columns the evaluation maintains, with a handful of grouped queries,
so the overview never scans every key to draw a trend; the overview also draws its
per-account and per-element charts from the latest snapshot when it is recent.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from .models import AccessKey, DailySnapshot, Finding
from .policy import RULES, Severity

Dimension = DailySnapshot.Dimension
TREND_CACHE_SECONDS = 3600


@transaction.atomic
def snapshot_take(*, day: date | None = None) -> int:
    """Record (or re-record) ``day``'s counts; prune beyond the retention. Rows written."""
    day = day or timezone.localdate()
    counts: dict[tuple[int, str, str], int] = defaultdict(int)
    active = AccessKey.objects.filter(removed_at__isnull=True, status=AccessKey.Status.ACTIVE)
    for account_id, state, n in (active.values_list("account_id", "compliance")
                                 .annotate(n=Count("id")).values_list("account_id",
                                                                      "compliance", "n")):
        counts[(account_id, Dimension.KEYS, "active")] += n
        counts[(account_id, Dimension.COMPLIANCE, state or "unevaluated")] += n
    open_findings = Finding.objects.filter(
        resolved_at__isnull=True, exception__isnull=True, key__removed_at__isnull=True)
    for account_id, code, n in (open_findings.values_list("key__account_id", "code")
                                .annotate(n=Count("id"))
                                .values_list("key__account_id", "code", "n")):
        counts[(account_id, Dimension.CODE, code)] += n
    failing = (open_findings.exclude(severity=Severity.LOW.value)
               .values_list("key__account_id", "element")
               .annotate(n=Count("key_id", distinct=True))
               .values_list("key__account_id", "element", "n"))
    for account_id, element, n in failing:
        counts[(account_id, Dimension.ELEMENT, element)] += n
    DailySnapshot.objects.filter(day=day).delete()
    DailySnapshot.objects.bulk_create([
        DailySnapshot(day=day, account_id=account_id, dimension=dimension, name=name, count=n)
        for (account_id, dimension, name), n in counts.items()
    ])
    keep_from = day - timedelta(days=settings.KEYLEDGER_SNAPSHOT_RETENTION_DAYS)
    DailySnapshot.objects.filter(day__lt=keep_from).delete()
    return len(counts)


# -- reading: what the overview draws from the snapshots -----------------------------------

FRESH_DAYS = 1  # a snapshot from today or yesterday stands in for a live count


def fresh_snapshot_day() -> date | None:
    """The day of the latest snapshot if it is recent enough to draw charts from, else None."""
    latest = DailySnapshot.objects.filter(dimension=Dimension.CODE).aggregate(
        day=Max("day"))["day"]
    if latest is None or latest < timezone.localdate() - timedelta(days=FRESH_DAYS):
        return None
    return latest


def open_findings_above_low(day: date, by: str) -> list[tuple[str, int]]:
    """Open, not excepted findings above low on ``day``, per account id or per element.

    Read from the per-code counts (about 20 rows per account) instead of joining every open
    finding to its key: a code's element and severity are fixed by its rule.
    """
    counts: dict[str, int] = defaultdict(int)
    rows = (DailySnapshot.objects.filter(day=day, dimension=Dimension.CODE)
            .values_list("account__account_id", "name").annotate(n=Sum("count")))
    for account_id, code, n in rows:
        rule = RULES.get(code)
        if rule is not None and not rule.severity.above_low:
            continue
        counts[account_id if by == "account" else (rule.element.value if rule else code)] += n
    return sorted(counts.items())


def compliance_trend(days: int) -> dict[str, dict[str, int]]:
    """Keys per compliance state per day (ISO date), summed over accounts, for ``days`` days.

    Cached until the next snapshot is written (any write gives a new largest id), since the
    sum reads days x accounts x states rows: 270,000 at 1,000 accounts for 90 days.
    """
    since = timezone.localdate() - timedelta(days=days)
    version = DailySnapshot.objects.aggregate(last=Max("id"))["last"]
    cache_key = f"keyledger:compliance-trend:{since.isoformat()}:{days}:{version}"
    per_day = cache.get(cache_key)
    if per_day is None:
        per_day = {}
        rows = (DailySnapshot.objects.filter(dimension=Dimension.COMPLIANCE, day__gte=since)
                .values_list("day", "name").annotate(total=Sum("count")).order_by("day"))
        for day, name, total in rows:
            per_day.setdefault(day.isoformat(), {})[name] = total
        cache.set(cache_key, per_day, TREND_CACHE_SECONDS)
    return per_day
