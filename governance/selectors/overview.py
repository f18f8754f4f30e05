"""The overview: the state of the keys a person can see, and how it has changed.

Tiles are live. The security team's finding counts come from the latest daily snapshot
(``governance.trends``) when it is recent: the security team sees every key, so live counts
would join every open finding to its key on each visit, and the day's snapshot holds the
same counts per account and code. Others see few keys and get live counts.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from ..access import is_security
from ..models import AccessKey, AwsAccount, DailySnapshot, Finding, SyncRun
from ..policy import RULES, Severity
from ..windows import AGE_WINDOWS
from .exceptions import decisions_awaiting_count
from .rotation import rotation_state_counts

EXPOSED_LISTED = 20  # exposed keys named at the top; the inventory's filter has them all
FRESH_DAYS = 1  # a snapshot from today or yesterday stands in for a live count
TREND_DAYS = 90
TREND_CACHE_SECONDS = 3600
FAILED_RUNS_LISTED = 5

Dimension = DailySnapshot.Dimension


@dataclass(frozen=True)
class Overview:
    # total, compliant, excepted, overdue (not excepted), overdue_excepted, gaps,
    # percent_compliant, pending (awaiting the person's decision) and, for the security
    # team, bad_accounts (not synced recently)
    tiles: dict[str, int | None]
    ages: dict[str, int]  # active keys per age window (``windows.AGE_WINDOWS``), by label
    exposed_keys: list[AccessKey]  # open KEY_EXPOSED, each with ``exposed_since``
    more_exposed: bool  # more exposed keys than are listed
    findings_by_account: list[tuple[str, int]]  # (AWS account id, open findings above low)
    findings_by_element: list[tuple[str, int]]  # (element, open findings above low)
    account_names: dict[str, str]  # AWS account id -> name, for the security team
    charts_day: date | None  # the snapshot the finding counts come from; None: live
    trend: dict[str, dict[str, int]] | None  # the security team's compliance trend
    failed_runs: list[SyncRun]  # the security team's latest failed syncs


def overview_of(person, *, now: datetime) -> Overview:
    """What the overview shows ``person`` at ``now``, in a fixed number of queries."""
    keys = AccessKey.objects.visible_to(person).filter(removed_at__isnull=True)
    security = is_security(person)
    tiles, ages = _key_counts(keys, person, now)
    exposed, more_exposed = _exposed_keys(keys)
    snapshot_day = fresh_snapshot_day() if security else None
    if snapshot_day is not None:
        by_account = open_findings_above_low(snapshot_day, "account")
        by_element = open_findings_above_low(snapshot_day, "element")
    else:
        by_account = _findings_by(keys, "key__account__account_id")
        by_element = _findings_by(keys, "element")
    account_names = dict(AwsAccount.objects.filter(
        account_id__in=[a for a, _ in by_account]).values_list("account_id", "name")
    ) if security else {}
    return Overview(
        tiles=tiles, ages=ages, exposed_keys=exposed, more_exposed=more_exposed,
        findings_by_account=by_account, findings_by_element=by_element,
        account_names=account_names, charts_day=snapshot_day,
        trend=compliance_trend(TREND_DAYS) if security else None,
        failed_runs=list(SyncRun.objects.filter(status=SyncRun.Status.FAILED)
                         .select_related("account")[:FAILED_RUNS_LISTED]) if security else [],
    )


def _age_buckets(now) -> dict[str, Count]:
    """Filtered counts of active keys per age window (the age filter's), labelled like the
    chart; the windows do not overlap, so a key is counted once."""
    return {f"age_{window.label}": Count("id", filter=window.q("created_at", now))
            for window in AGE_WINDOWS}


def _key_counts(keys, person, now) -> tuple[dict, dict[str, int]]:
    """The tiles and the age histogram, from one pass over the active keys; the rotation
    tile counts them as the rotation page does."""
    rotation = rotation_state_counts()
    counts = keys.filter(status=AccessKey.Status.ACTIVE).aggregate(
        total=Count("id"), compliant=Count("id", filter=Q(compliance="compliant")),
        excepted=Count("id", filter=Q(compliance="excepted")),
        overdue=rotation["overdue"], overdue_excepted=rotation["excepted"],
        gaps=Count("id", filter=Q(open_codes__contains="NO_OWNER")
                   | Q(open_codes__contains="NO_PURPOSE")),
        **_age_buckets(now),
    )
    ages = {name.removeprefix("age_"): counts.pop(name) for name in list(counts)
            if name.startswith("age_")}
    total = counts["total"] or 0
    counts["percent_compliant"] = round(100 * counts["compliant"] / total) if total else None
    counts["pending"] = decisions_awaiting_count(person)
    if is_security(person):
        stale_before = now - timedelta(hours=settings.KEYLEDGER_STALE_AFTER_HOURS)
        counts["bad_accounts"] = AwsAccount.objects.filter(enabled=True).filter(
            Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=stale_before)).count()
    return counts, ages


def _exposed_keys(keys) -> tuple[list, bool]:
    """Keys AWS found in public (open ``KEY_EXPOSED``), first seen first, each with
    ``exposed_since``; and whether there are more than are listed. One query."""
    rows = list(keys.filter(findings__code="KEY_EXPOSED", findings__resolved_at__isnull=True)
                .annotate(exposed_since=Min("findings__opened_at"))
                .select_related("account", "user").order_by("exposed_since", "pk")
                [:EXPOSED_LISTED + 1])
    return rows[:EXPOSED_LISTED], len(rows) > EXPOSED_LISTED


def _findings_by(keys, field: str) -> list[tuple[str, int]]:
    """Live counts of open findings above low per ``field``, for what the person can see."""
    return list(Finding.objects.filter(key__in=keys, resolved_at__isnull=True,
                                       exception__isnull=True)
                .exclude(severity=Severity.LOW.value)
                .values_list(field).annotate(n=Count("id")).order_by(field))


# -- from the daily snapshots ------------------------------------------------------------

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
