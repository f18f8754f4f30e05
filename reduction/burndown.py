"""The burn-down (DESIGN.md "Fewer keys"): active long-term keys week by week, with the keys
added and retired each week, the migration plans by state and the date the organization
reaches its target at the pace of the last weeks.

What is counted, and from where:

* **Active long-term keys** at the end of a week: access keys (root keys included) whose
  status is Active and which are still in AWS. For the security team looking at the
  organization or one account they are the daily snapshots' ``keys``/``active`` counts
  (``governance.trends.snapshot_take``), summed over accounts, on the week's last snapshot
  day: the record, whatever has changed since. The snapshots count per account, not per
  owner, so a team's or an owner's line is reconstructed from the keys themselves (below);
  on the same keys both agree (``tests/reduction/test_burndown.py``).
* **Added** in a week: keys AWS created that week (``created_at``; when AWS gives no date,
  the day Keyledger first saw the key).
* **Retired** in a week: when Keyledger saw the key stop being active: a deactivation a
  sync saw (``status_changed_at`` of an Inactive key, later than its first sighting), else
  its deletion from AWS (``removed_at``). Those are the columns a sync writes along with the
  key's ``deactivated`` and ``removed`` ``AccessKeyEvent``; the key's own columns hold the
  latest of them, one row per key, so the week's numbers are one grouped count. A key
  already inactive when first seen was never active in Keyledger's record and is left out;
  a key deactivated and activated again counts as active throughout.
* **The target's measure**: active keys without an approved keep. Keyledger records no
  approved keep yet: a way out of ``keep`` is a recommendation, not a decision, and a
  migration plan cannot have the path ``keep`` (``reduction.services``). So the measure is
  every active key, the page says so, and ``KEYLEDGER_BURNDOWN_TARGET`` (default 0) is the
  number of keys the organization means to reach.

Every count is a fixed number of queries, whatever the number of keys or weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, DateTimeField, F, Max, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce

from accounts.roles import Role
from governance.access import is_security
from governance.models import AccessKey, AwsAccount, DailySnapshot

from .models import MigrationPlan

WEEKS_SHOWN = 26  # half a year on the page, the API and the export
FORECAST_WEEKS = 12  # the pace is the least-squares slope over the last weeks with a count
PANEL_WEEKS_BACK = 12  # the overview compares now with this many weeks ago
FORECAST_HORIZON_DAYS = 365 * 100  # further than this is "not at the current pace"
LINE_CACHE_SECONDS = 3600

SNAPSHOTS, KEYS = "snapshots", "keys"  # where the active line comes from


@dataclass(frozen=True)
class Week:
    """One week, Monday to Sunday (UTC): ``active`` at its end (this week: now; ``None`` when
    the snapshots have no day in it), and the keys added and retired during it."""

    start: date
    active: int | None
    added: int
    retired: int


@dataclass(frozen=True)
class Forecast:
    """When ``current`` reaches ``target`` at ``pace`` keys a week: ``on`` that day,
    ``reached`` when it already has, neither when it does not go down (or cannot tell)."""

    target: int
    current: int | None
    pace: float | None  # keys per week, least squares; negative when going down
    reached: bool
    on: date | None


@dataclass(frozen=True)
class Scope:
    """Whose keys: those ``person`` may see, in one ``account`` and one manager's ``team``
    (the manager's own keys and their direct reports') when given."""

    person: object
    account: AwsAccount | None = None
    team: object | None = None

    @property
    def filtered(self) -> bool:
        return self.account is not None or self.team is not None

    def keys(self) -> QuerySet:
        keys = AccessKey.objects.visible_to(self.person)
        if self.account is not None:
            keys = keys.filter(account=self.account)
        if self.team is not None:
            keys = keys.filter(Q(owner=self.team) | Q(owner__manager=self.team))
        return keys


@dataclass(frozen=True)
class BurnDown:
    weeks: list[Week]
    source: str  # SNAPSHOTS or KEYS: where ``Week.active`` comes from
    forecast: Forecast
    plans: dict[str, int] = field(default_factory=dict)  # state -> plans, every state


# -- who may filter by what ----------------------------------------------------------------

def accounts_for(person) -> QuerySet:
    """The accounts ``person`` may filter by: those holding a key they can see."""
    return AwsAccount.objects.visible_to(person).order_by("name", "account_id")


def teams_for(person) -> QuerySet:
    """The managers whose team ``person`` may filter by: every active manager for the
    security team; nobody for anyone else (a manager's scope already is their team)."""
    from accounts.models import Person

    if not is_security(person):
        return Person.objects.none()
    return (Person.objects.filter(is_active=True, groups__name=Role.MANAGER.value)
            .order_by("name", "email"))


# -- the series ----------------------------------------------------------------------------

def week_starts(today: date, weeks: int) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, oldest first, this week's last."""
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def key_lifetimes(keys: QuerySet) -> QuerySet:
    """``keys`` that were active at some time in Keyledger's record, each annotated with
    ``went_active`` and ``retired_at`` (``None``: active now), as the module says."""
    seen_deactivated = Q(status=AccessKey.Status.INACTIVE,
                         status_changed_at__gt=F("first_seen_at"))
    return (keys.filter(Q(status=AccessKey.Status.ACTIVE) | seen_deactivated)
            .annotate(went_active=Coalesce("created_at", "first_seen_at"),
                      retired_at=Case(When(seen_deactivated, then=F("status_changed_at")),
                                      default=F("removed_at"), output_field=DateTimeField()))
            .filter(Q(retired_at__isnull=True) | Q(retired_at__gte=F("went_active"))))


def lifetime_weeks(keys: QuerySet, starts: list[date]) -> list[Week]:
    """Active, added and retired per week from the keys' lifetimes, in one query: the active
    line is the keys active when the first week starts plus each week's added minus its
    retired, so the line and the bars always agree."""
    bounds = [_midnight(day) for day in starts] + [_midnight(starts[-1] + timedelta(weeks=1))]
    counts = {"before": Count("pk", filter=Q(went_active__lt=bounds[0])
                              & (Q(retired_at__isnull=True) | Q(retired_at__gte=bounds[0])))}
    for i in range(len(starts)):
        counts[f"added_{i}"] = Count("pk", filter=Q(went_active__gte=bounds[i],
                                                    went_active__lt=bounds[i + 1]))
        counts[f"retired_{i}"] = Count("pk", filter=Q(retired_at__gte=bounds[i],
                                                      retired_at__lt=bounds[i + 1]))
    totals = key_lifetimes(keys).order_by().aggregate(**counts)
    weeks, active = [], totals["before"]
    for i, start in enumerate(starts):
        added, retired = totals[f"added_{i}"], totals[f"retired_{i}"]
        active += added - retired
        weeks.append(Week(start, active, added, retired))
    return weeks


def snapshot_line(starts: list[date], *, account: AwsAccount | None) -> list[int | None]:
    """Active keys at each week's last snapshot day (summed over accounts, or ``account``'s),
    ``None`` for a week with no snapshot.

    The sum reads a row per day and account (180,000 at 1,000 accounts for 26 weeks), so it
    is cached until the next snapshot is written, as the compliance trend is
    (``governance.selectors.overview.compliance_trend``): two queries, one when cached."""
    version = DailySnapshot.objects.aggregate(last=Max("id"))["last"]
    cache_key = (f"keyledger:burndown-line:{starts[0].isoformat()}:"
                 f"{account.pk if account else 'all'}:{version}")
    per_day = cache.get(cache_key)
    if per_day is None:
        rows = DailySnapshot.objects.filter(dimension=DailySnapshot.Dimension.KEYS,
                                            name="active", day__gte=starts[0])
        if account is not None:
            rows = rows.filter(account=account)
        per_day = dict(rows.order_by().values_list("day").annotate(n=Sum("count")))
        cache.set(cache_key, per_day, LINE_CACHE_SECONDS)
    line: list[int | None] = []
    for start in starts:
        days = [day for day in per_day if start <= day < start + timedelta(weeks=1)]
        line.append(per_day[max(days)] if days else None)
    return line


def uses_snapshots(scope: Scope) -> bool:
    """The snapshots count per account: they serve the security team's organization and
    account views; a team or an owner's scope is reconstructed from the keys."""
    return is_security(scope.person) and scope.team is None


def weekly_series(scope: Scope, *, today: date, weeks: int = WEEKS_SHOWN
                  ) -> tuple[list[Week], str]:
    """The weeks of ``scope``, oldest first, and where their active line comes from; from
    the snapshots, the weeks start with the first that has one (all, when none has)."""
    starts = week_starts(today, weeks)
    by_keys = lifetime_weeks(scope.keys(), starts)
    if not uses_snapshots(scope):
        return by_keys, KEYS
    line = snapshot_line(starts, account=scope.account)
    series = [Week(w.start, active, w.added, w.retired)
              for w, active in zip(by_keys, line, strict=True)]
    # The line starts with the record: the weeks before the first snapshot are left out.
    first = next((i for i, w in enumerate(series) if w.active is not None), 0)
    return series[first:], SNAPSHOTS


# -- the forecast --------------------------------------------------------------------------

def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    """The slope of the least-squares line through ``points``; ``None`` with fewer than two
    distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx


def forecast(weeks: list[Week], *, target: int, today: date,
             over: int = FORECAST_WEEKS) -> Forecast:
    """When the active keys reach ``target``, at the pace of the last ``over`` weeks with a
    count: from today's count, at the least-squares slope of those weeks. Flat or rising
    (or a single week): no date; at or below the target already: reached."""
    counted = [w for w in weeks if w.active is not None][-over:]
    if not counted:
        return Forecast(target, None, None, reached=False, on=None)
    current = counted[-1].active
    assert current is not None
    slope = least_squares_slope([((w.start - counted[0].start).days / 7, float(w.active or 0))
                                 for w in counted])
    if current <= target:
        return Forecast(target, current, slope, reached=True, on=None)
    if slope is None or slope >= 0:
        return Forecast(target, current, slope, reached=False, on=None)
    days = math.ceil((current - target) / -slope * 7)
    on = today + timedelta(days=days) if days <= FORECAST_HORIZON_DAYS else None
    return Forecast(target, current, slope, reached=False, on=on)


# -- what the pages read -------------------------------------------------------------------

def plans_by_state(scope: Scope) -> dict[str, int]:
    """The migration plans of ``scope``'s keys per state, every state present; one query."""
    counts = dict(MigrationPlan.objects.filter(key__in=scope.keys()).order_by()
                  .values_list("state").annotate(n=Count("pk")))
    return {state: counts.get(state, 0) for state in MigrationPlan.State.values}


def burndown_of(scope: Scope, *, today: date, weeks: int = WEEKS_SHOWN) -> BurnDown:
    """The burn-down page's numbers for ``scope``: the weeks, the forecast, the plans."""
    series, source = weekly_series(scope, today=today, weeks=weeks)
    return BurnDown(series, source, forecast(series, target=settings.KEYLEDGER_BURNDOWN_TARGET,
                                             today=today), plans_by_state(scope))


@dataclass(frozen=True)
class Panel:
    """The overview's summary: active keys now and ``PANEL_WEEKS_BACK`` weeks ago."""

    now: int | None
    before: int | None
    forecast: Forecast


def burndown_panel(person, *, today: date) -> Panel:
    """What the overview's burn-down panel shows ``person``: their scope, unfiltered."""
    scope, starts = Scope(person), week_starts(today, PANEL_WEEKS_BACK + 1)
    if uses_snapshots(scope):  # the line alone: the bars are not shown
        series = [Week(start, active, 0, 0) for start, active
                  in zip(starts, snapshot_line(starts, account=None), strict=True)]
    else:
        series = lifetime_weeks(scope.keys(), starts)
    return Panel(series[-1].active, series[0].active,
                 forecast(series, target=settings.KEYLEDGER_BURNDOWN_TARGET, today=today))
