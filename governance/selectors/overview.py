"""The overview: the state of the keys a person can see, worst first, and how it has changed.

Every number is a count of keys (or, for the account's own findings, of accounts) that the
inventory lists with the filters the page links to, so a tile, a bar and the list behind it
agree. They are read live from the keys' stored judgement (``open_codes``, ``risk``,
``compliance``) in one pass over the keys plus one grouped by account: no join to the
findings. A key's severity is its worst open finding of its own (``AccessKey.risk``); the
account's findings (``policy.ACCOUNT_CODES``: no audit trail) are counted once per account.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.utils import timezone

from ..access import is_security
from ..models import AccessKey, AwsAccount, DailySnapshot, Finding, SyncRun
from ..policy import ACCOUNT_CODES, RULES, Element, Severity
from ..windows import AGE_WINDOWS
from .accounts import not_synced_recently
from .exceptions import decisions_awaiting_count
from .rotation import rotation_state_counts

EXPOSED_LISTED = 20  # exposed keys named at the top; the inventory's filter has them all
TOP_RISKS_LISTED = 10  # critical and high findings listed, newest first
ACCOUNTS_CHARTED = 15  # the accounts with the most keys at risk, worst first
TREND_DAYS = 90
TREND_CACHE_SECONDS = 3600
FAILED_RUNS_LISTED = 5
# The severities the overview counts keys by, worst first (low findings do not affect
# compliance: ``Severity.above_low``).
SHOWN_SEVERITIES = tuple(s for s in Severity if s.above_low)

if TYPE_CHECKING:
    from reduction.burndown import Panel

Dimension = DailySnapshot.Dimension


@dataclass(frozen=True)
class Overview:
    # total, compliant, excepted, overdue (not excepted), overdue_excepted, gaps,
    # percent_compliant, pending (awaiting the person's decision), accounts_without_trail
    # and, for the security team, bad_accounts (not synced recently) and overdue_plans
    # (migration plans past their target date, as ``/plans/?overdue=true`` lists them)
    tiles: dict[str, int | None]
    by_severity: dict[str, int]  # active keys per severity of their worst own finding
    top_risks: list[Finding]  # open critical and high findings, newest first, with key
    ages: dict[str, int]  # active keys per age window (``windows.AGE_WINDOWS``), by label
    exposed_keys: list[AccessKey]  # open KEY_EXPOSED, each with ``exposed_since``
    more_exposed: bool  # more exposed keys than are listed
    by_account: list[dict]  # accounts with keys at risk: account__pk/name/account_id and a
    #                         count per severity, the worst first (``ACCOUNTS_CHARTED``)
    by_element: dict[str, dict[str, int]]  # element -> severity -> active keys failing it
    trend: dict[str, dict[str, int]] | None  # the security team's compliance trend
    failed_runs: list[SyncRun]  # the security team's latest failed syncs
    burndown: "Panel"  # active keys now and 12 weeks ago, and the forecast (reduction)


def overview_of(person, *, now: datetime) -> Overview:
    """What the overview shows ``person`` at ``now``, in a fixed number of queries."""
    from reduction.burndown import burndown_panel  # reduction reads governance's models

    keys = AccessKey.objects.visible_to(person).filter(removed_at__isnull=True)
    security = is_security(person)
    tiles, by_severity, ages, by_element = _key_counts(keys, person, now)
    exposed, more_exposed = _exposed_keys(keys)
    return Overview(
        tiles=tiles, by_severity=by_severity, top_risks=_top_risks(keys), ages=ages,
        exposed_keys=exposed, more_exposed=more_exposed, by_account=_by_account(keys),
        by_element=by_element,
        trend=compliance_trend(TREND_DAYS) if security else None,
        failed_runs=list(SyncRun.objects.filter(status=SyncRun.Status.FAILED)
                         .select_related("account")[:FAILED_RUNS_LISTED]) if security else [],
        burndown=burndown_panel(person, today=timezone.localdate()),
    )


def _with_code(codes) -> Q:
    """Keys with any of ``codes`` open and not excepted."""
    return reduce(or_, (Q(open_codes__contains=code) for code in codes), Q(pk__in=[]))


def _element_codes() -> dict[str, list[str]]:
    """Per element, the key's own codes above low that fail it (the inventory's ``element``
    filter); an element failed only by the account's findings (auditing) is left out."""
    codes: dict[str, list[str]] = {}
    for code, rule in RULES.items():
        if rule.severity.above_low and code not in ACCOUNT_CODES:
            codes.setdefault(rule.element.value, []).append(code)
    return {e.value: codes[e.value] for e in Element if e.value in codes}


def _severity_counts(prefix: str, scope: Q | None = None) -> dict[str, Count]:
    return {f"{prefix}{s.value}": Count("pk", filter=Q(risk=s.rank()) & (scope or Q()))
            for s in SHOWN_SEVERITIES}


def _key_counts(keys, person, now) -> tuple[dict, dict, dict, dict]:
    """The tiles, the keys per severity, the age histogram and the keys per failing element
    and severity, from one pass over the active keys and one grouped by their codes; the
    rotation tile counts them as the rotation page does, the age bars with the age filter's
    windows (a key in one bar)."""
    active = keys.filter(status=AccessKey.Status.ACTIVE)
    counts = active.aggregate(
        total=Count("id"), compliant=Count("id", filter=Q(compliance="compliant")),
        excepted=Count("id", filter=Q(compliance="excepted")),
        overdue=rotation_state_counts()["overdue"],
        overdue_excepted=rotation_state_counts()["excepted"],
        gaps=Count("id", filter=_with_code(("NO_OWNER", "NO_PURPOSE"))),
        **{f"age_{w.label}": Count("id", filter=w.q("created_at", now)) for w in AGE_WINDOWS},
        **_severity_counts("severity_"),
    )

    def take(prefix: str) -> dict[str, int]:
        return {name.removeprefix(prefix): counts.pop(name) for name in list(counts)
                if name.startswith(prefix)}

    ages, by_severity = take("age_"), take("severity_")
    total = counts["total"] or 0
    counts["percent_compliant"] = round(100 * counts["compliant"] / total) if total else None
    counts["pending"] = decisions_awaiting_count(person)
    counts["accounts_without_trail"] = _accounts_with_account_findings(active)
    if is_security(person):
        counts["bad_accounts"] = not_synced_recently(AwsAccount.objects.all(), now=now).count()
        from reduction.selectors import overdue_plan_count  # reduction reads governance

        # The plans ``/plans/?overdue=true`` lists (the same selector), so the tile agrees.
        counts["overdue_plans"] = overdue_plan_count(person, today=timezone.localdate())
    return counts, by_severity, ages, _by_element(active)


def _accounts_with_account_findings(active) -> int:
    """How many accounts have an account finding (no audit trail) open on one of ``active``:
    each account once, however many keys it has. An existence test per account stops at its
    first such key; a distinct count over the keys sorted all of them."""
    flagged = active.filter(_with_code(sorted(ACCOUNT_CODES)), account=OuterRef("pk"))
    return AwsAccount.objects.filter(Exists(flagged)).count()


def _by_element(active) -> dict[str, dict[str, int]]:
    """Per element, the active keys failing it per severity (``risk``), as the inventory's
    ``element`` and ``severity`` filters together list them.

    Counted from the keys grouped by their codes (a few hundred combinations however many
    keys): a filtered count per element and severity tested each key's codes a dozen
    times, ~200 ms at 100,000 keys.
    """
    elements = _element_codes()
    ranks = {s.rank(): s.value for s in SHOWN_SEVERITIES}
    by_element = {element: {s.value: 0 for s in SHOWN_SEVERITIES} for element in elements}
    for codes, risk, n in (active.order_by().values_list("open_codes", "risk")
                           .annotate(n=Count("id")).filter(risk__in=list(ranks))):
        present = set(codes.split(";"))
        for element, failing in elements.items():
            if present.intersection(failing):
                by_element[element][ranks[risk]] += n
    return by_element


def _by_account(keys) -> list[dict]:
    """The accounts whose active keys are most at risk: keys per severity, worst first.
    Grouped by the key's account column alone, then the few accounts shown are named: the
    join to every key's account cost more than the grouping."""
    at_risk = reduce(or_, (Q(**{f"{s.value}__gt": 0}) for s in SHOWN_SEVERITIES))
    rows = list(keys.filter(status=AccessKey.Status.ACTIVE).order_by()
                .values("account_id").annotate(**_severity_counts("")).filter(at_risk)
                .order_by(*(f"-{s.value}" for s in SHOWN_SEVERITIES), "account_id")
                [:ACCOUNTS_CHARTED])
    names = AwsAccount.objects.in_bulk([row["account_id"] for row in rows])
    return [{**row, "account__pk": row["account_id"],
             "account__name": names[row["account_id"]].name,
             "account__account_id": names[row["account_id"]].account_id} for row in rows]


def _top_risks(keys) -> list[Finding]:
    """The open, not excepted critical findings of ``keys``, newest first, then the high ones,
    newest first, with key, account and IAM user: what to look at first. Severity leads:
    each account's sync opens its findings at its own instant, so "newest first" alone put a
    later account's high findings above an earlier one's critical. Each read walks the
    partial index on open critical and high findings."""
    shown = (Finding.objects.filter(key__in=keys, resolved_at__isnull=True,
                                    exception__isnull=True)
             .select_related("key__account", "key__user").order_by("-opened_at", "-pk"))
    critical = list(shown.filter(severity=Severity.CRITICAL.value)[:TOP_RISKS_LISTED])
    high = list(shown.filter(severity=Severity.HIGH.value)[:TOP_RISKS_LISTED])  # always read:
    return (critical + high)[:TOP_RISKS_LISTED]  # the page's query count stays the same


def _exposed_keys(keys) -> tuple[list, bool]:
    """Keys AWS found in public (open ``KEY_EXPOSED``), first seen first, each with
    ``exposed_since``; and whether there are more than are listed. One query."""
    rows = list(keys.filter(findings__code="KEY_EXPOSED", findings__resolved_at__isnull=True)
                .annotate(exposed_since=Min("findings__opened_at"))
                .select_related("account", "user").order_by("exposed_since", "pk")
                [:EXPOSED_LISTED + 1])
    return rows[:EXPOSED_LISTED], len(rows) > EXPOSED_LISTED


# -- from the daily snapshots ------------------------------------------------------------

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
