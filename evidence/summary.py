"""What CloudTrail shows a key did over the evidence window, as its page and the API show it.

Reads only: the per key per day rows the trail reading stored (``KeyUsageDay``,
``KeyUsageAddress``), summed over the window (``KEYLEDGER_EVIDENCE_DAYS`` UTC days ending
today), with each address judged against the key's declared sources the way
``UNEXPECTED_SOURCE`` judges it, so the panel's ✗ and the finding (and the inventory's
"used from an undeclared address" filter built on it) name the same keys. Four queries
whatever the data: the current registration, the days, the addresses, and whether the
trail has been read for the key's account (for the empty state).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings

from governance.models import AccessKey
from governance.selectors.keys import current_registration
from governance.sources import Source, address_declared, is_ip_address, stored_sources

from .models import KeyUsageAddress, KeyUsageDay, TrailObject

TOP_ACTIONS = 10
# What the panel reads of an address row (not its per-address actions, which the finding's
# reason names).
ADDRESS_FIELDS = ("access_key_id", "day", "address", "via_aws_service", "vpc_endpoint_id",
                  "first_seen", "last_seen", "events")
CHART_WIDTH = 300  # the daily chart's viewBox, in SVG units
CHART_HEIGHT = 60


def window_start(today: date, days: int | None = None) -> date:
    """The first UTC day of the evidence window that ends with ``today`` (both included)."""
    return today - timedelta(days=(days or settings.KEYLEDGER_EVIDENCE_DAYS) - 1)


@dataclass(frozen=True)
class AddressSeen:
    """One source address over the window. ``declared`` is True or False for an IP address
    judged against the declared sources, None when there was nothing to judge: an AWS
    service acting for the key, a non-IP address, or a key that declares no sources."""

    address: str
    declared: bool | None
    via_aws_service: bool
    first_seen: datetime
    last_seen: datetime
    events: int

    @property
    def undeclared(self) -> bool:
        return self.declared is False


@dataclass(frozen=True)
class Count:
    """A value (user agent, service, action, region) and the events that carried it."""

    value: str
    events: int


@dataclass(frozen=True)
class DayCount:
    day: date
    events: int
    errors: int


@dataclass(frozen=True)
class ChartBar:
    """One day's bar in the daily chart, placed in the chart's viewBox (computed here so
    the template only draws)."""

    day: date
    events: int
    errors: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class SharedDay:
    """A day the key was used from more places or programs than one workload would be."""

    day: date
    addresses: int  # distinct addresses other than AWS services acting for the key
    agents: int  # distinct user agents
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class KeyUsage:
    """A key's usage evidence over the window ``since`` .. ``until`` (UTC days)."""

    window_days: int
    since: date
    until: date
    attributable: bool  # False for a root key: the trail cannot name it
    trail_configured: bool
    account_read: bool  # the trail has been read for the key's account at least once
    sources_declared: bool
    addresses: tuple[AddressSeen, ...]  # undeclared first, then the most events first
    user_agents: tuple[Count, ...]
    services: tuple[Count, ...]
    actions: tuple[Count, ...]  # the TOP_ACTIONS most frequent
    regions: tuple[Count, ...]
    events: int
    errors: int
    days: tuple[DayCount, ...]  # every day of the window, oldest first, zero when unused
    shared_days: tuple[SharedDay, ...]

    @property
    def has_evidence(self) -> bool:
        return self.events > 0 or bool(self.addresses)

    @property
    def undeclared(self) -> tuple[AddressSeen, ...]:
        return tuple(a for a in self.addresses if a.undeclared)

    @property
    def why_empty(self) -> str:
        """Why there is no evidence, as precisely as Keyledger knows; '' when there is."""
        if not self.attributable:
            return ("CloudTrail names the root user, not a root key's id: its use cannot be "
                    "attributed to this key.")
        if self.has_evidence:
            return ""
        empty = f"No CloudTrail evidence for this key in the last {self.window_days} days"
        if not self.trail_configured:
            return f"{empty}: the trail is not configured (KEYLEDGER_TRAIL_BUCKET is unset)."
        if not self.account_read:
            return f"{empty}: the trail has not been read for this key's account yet."
        return f"{empty}."

    @property
    def chart(self) -> tuple[ChartBar, ...]:
        """The daily series as bars scaled to the busiest day (a day with events always
        shows at least one unit, so a quiet day is not mistaken for an unused one)."""
        busiest = max((d.events for d in self.days), default=0) or 1
        width = CHART_WIDTH / max(len(self.days), 1)
        bars = []
        for i, d in enumerate(self.days):
            height = 0.0 if not d.events else max(1.0, CHART_HEIGHT * d.events / busiest)
            bars.append(ChartBar(d.day, d.events, d.errors, x=round(i * width, 2),
                                 y=round(CHART_HEIGHT - height, 2),
                                 width=round(width * 0.8, 2), height=round(height, 2)))
        return tuple(bars)

    @property
    def chart_width(self) -> int:
        return CHART_WIDTH

    @property
    def chart_height(self) -> int:
        return CHART_HEIGHT


def _counts(total: Counter, limit: int | None = None) -> tuple[Count, ...]:
    ordered = sorted(total.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Count(value, events) for value, events in ordered[:limit])


def _judged(row: KeyUsageAddress, sources: list[Source] | None) -> bool | None:
    """Whether one day's address was declared, as ``UNEXPECTED_SOURCE`` judges it;
    ``sources`` None when the key declares none (nothing to judge against)."""
    if sources is None or row.via_aws_service or not is_ip_address(row.address):
        return None
    return address_declared(row.address, sources, vpc_endpoint_id=row.vpc_endpoint_id)


def _addresses(rows: Iterable[KeyUsageAddress], sources: list[Source] | None
               ) -> tuple[AddressSeen, ...]:
    """Each address summed over its days: undeclared when any day's use was, declared when
    every judged day's was."""
    merged: dict[str, dict] = {}
    for row in rows:
        seen = merged.setdefault(row.address, {
            "judged": set(), "via": False, "first": row.first_seen, "last": row.last_seen,
            "events": 0})
        seen["judged"].add(_judged(row, sources))
        seen["via"] = seen["via"] or row.via_aws_service
        seen["first"] = min(seen["first"], row.first_seen)
        seen["last"] = max(seen["last"], row.last_seen)
        seen["events"] += row.events
    found = [AddressSeen(address, False if False in seen["judged"]
                         else True if True in seen["judged"] else None,
                         seen["via"], seen["first"], seen["last"], seen["events"])
             for address, seen in merged.items()]
    return tuple(sorted(found, key=lambda a: (not a.undeclared, -a.events, a.address)))


def _shared_days(days: Mapping[date, KeyUsageDay], places: Mapping[date, int]
                 ) -> tuple[SharedDay, ...]:
    """Days over either threshold, saying which was exceeded and by how much."""
    most_places = settings.KEYLEDGER_SHARED_ADDRESSES_PER_DAY
    most_agents = settings.KEYLEDGER_SHARED_AGENTS_PER_DAY
    shared = []
    for day in sorted(set(days) | set(places)):
        addresses = places.get(day, 0)
        agents = len(days[day].user_agents) if day in days else 0
        reasons = []
        if addresses > most_places:
            reasons.append(f"{addresses} addresses (more than {most_places})")
        if agents > most_agents:
            reasons.append(f"{agents} user agents (more than {most_agents})")
        if reasons:
            shared.append(SharedDay(day, addresses, agents, tuple(reasons)))
    return tuple(shared)


def key_usage(key: AccessKey, *, today: date) -> KeyUsage:
    """``key``'s usage evidence over the window ending ``today`` (a UTC date)."""
    window = settings.KEYLEDGER_EVIDENCE_DAYS
    since = window_start(today, window)
    trail_configured = bool(settings.KEYLEDGER_TRAIL_BUCKET)
    every_day = [since + timedelta(days=i) for i in range(window)]
    if not key.access_key_id:  # a root key: nothing in the trail names it
        return KeyUsage(
            window_days=window, since=since, until=today, attributable=False,
            trail_configured=trail_configured, account_read=False, sources_declared=False,
            addresses=(), user_agents=(), services=(), actions=(), regions=(), events=0,
            errors=0, days=tuple(DayCount(d, 0, 0) for d in every_day), shared_days=())
    registration = current_registration(key)
    declared = list(registration.declared_sources) if registration else []
    in_window = {"access_key_id": key.access_key_id, "day__gte": since, "day__lte": today}
    days = {d.day: d for d in KeyUsageDay.objects.filter(**in_window).order_by("day")}
    address_rows = list(KeyUsageAddress.objects.filter(**in_window).order_by("day", "address")
                        .only(*ADDRESS_FIELDS))
    account_read = TrailObject.objects.filter(account_id=key.account.account_id).exists()
    totals: dict[str, Counter] = {name: Counter() for name in (
        "user_agents", "event_sources", "actions", "regions")}
    for day in days.values():
        for name, total in totals.items():
            total.update(getattr(day, name))
    places = Counter(row.day for row in address_rows if not row.via_aws_service)
    return KeyUsage(
        window_days=window, since=since, until=today, attributable=True,
        trail_configured=trail_configured, account_read=account_read,
        sources_declared=bool(declared),
        addresses=_addresses(address_rows, stored_sources(declared) if declared else None),
        user_agents=_counts(totals["user_agents"]),
        services=_counts(totals["event_sources"]),
        actions=_counts(totals["actions"], TOP_ACTIONS),
        regions=_counts(totals["regions"]),
        events=sum(d.events for d in days.values()),
        errors=sum(d.errors for d in days.values()),
        days=tuple(DayCount(d, days[d].events if d in days else 0,
                            days[d].errors if d in days else 0) for d in every_day),
        shared_days=_shared_days(days, places),
    )
