"""Reducing long-term-key events to daily counts, and storing them exactly once.

A log file's events become a ``Reduction`` in memory (a few counters per key and day); a
batch of files is then written in one transaction that also records each file as read.
The record is claimed first (``INSERT ... ON CONFLICT DO NOTHING RETURNING``): a file that
another worker, or an earlier run, already recorded adds nothing, so a batch read twice,
or by two workers at once, counts once. Every string comes from the trail (user agents are
whatever the caller sent): each is clipped, and each map keeps at most ``MAX_DISTINCT``
values, the rest counted under ``OTHER``, so a hostile caller cannot grow a row without
bound.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from governance.aws.trail import KeyEvent, LogObject, ReadStats
from governance.untrusted import clip

from .models import KeyUsageAddress, KeyUsageDay, TrailObject

M = TypeVar("M", bound=models.Model)
MAX_DISTINCT = 100
MAX_ADDRESS_ACTIONS = 25  # per address and day: what an undeclared address did, in brief
OTHER = "(other)"
ADDRESS_CHARS = 128
AGENT_CHARS = 256
NAME_CHARS = 128
ENDPOINT_CHARS = 64


@dataclass
class AddressUsage:
    """One address's calls: when, how many, which actions, and through which VPC endpoint
    (kept only while every call came through the same one: see ``same_endpoint``)."""

    first_seen: datetime
    last_seen: datetime
    events: int = 0
    via_aws_service: bool = False
    vpc_endpoint_id: str = ""
    actions: Counter = field(default_factory=Counter)

    def merge(self, other: "AddressUsage") -> None:
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.events += other.events
        self.via_aws_service = self.via_aws_service or other.via_aws_service
        self.vpc_endpoint_id = same_endpoint(self.vpc_endpoint_id, other.vpc_endpoint_id)
        add_capped(self.actions, other.actions, limit=MAX_ADDRESS_ACTIONS)

    def copy(self) -> "AddressUsage":
        return AddressUsage(self.first_seen, self.last_seen, self.events,
                            self.via_aws_service, self.vpc_endpoint_id, Counter(self.actions))


def same_endpoint(mine: str, theirs: str) -> str:
    """The endpoint of calls that came through ``mine`` and ``theirs``: '' unless both are
    the same one. A declared endpoint must not cover an address that also called from
    elsewhere, so a mixed address counts as called outside any endpoint."""
    return mine if mine == theirs else ""


@dataclass
class DayUsage:
    """One key's day, as counted so far."""

    account_id: str = ""
    events: int = 0
    errors: int = 0
    user_agents: Counter = field(default_factory=Counter)
    event_sources: Counter = field(default_factory=Counter)
    actions: Counter = field(default_factory=Counter)
    regions: Counter = field(default_factory=Counter)
    addresses: dict[str, AddressUsage] = field(default_factory=dict)

    def merge(self, other: "DayUsage") -> None:
        self.account_id = self.account_id or other.account_id
        self.events += other.events
        self.errors += other.errors
        for mine, theirs in self.maps(other):
            add_capped(mine, theirs)
        for address, usage in other.addresses.items():
            if address in self.addresses:
                self.addresses[address].merge(usage)
            else:
                self.addresses[address] = usage.copy()

    def maps(self, other: "DayUsage"):
        return ((self.user_agents, other.user_agents), (self.event_sources, other.event_sources),
                (self.actions, other.actions), (self.regions, other.regions))


def add_capped(counts: Counter | dict, more: Counter | dict, *,
               limit: int = MAX_DISTINCT) -> None:
    """Add ``more`` into ``counts``, keeping at most ``limit`` values: new values beyond
    that are counted under ``OTHER``."""
    for value, number in more.items():
        if value not in counts and len(counts) >= limit:
            value = OTHER
        counts[value] = counts.get(value, 0) + number


def _count(counts: Counter, value: str, limit: int = MAX_DISTINCT) -> None:
    """``add_capped(counts, {value: 1})``, without building the dict (the hot path)."""
    if value not in counts and len(counts) >= limit:
        value = OTHER
    counts[value] += 1


@lru_cache(maxsize=4096)
def _clipped(value: str, limit: int) -> str:
    """``clip``, remembered: a key's user agents and addresses repeat in every event."""
    return clip(value, limit)


@lru_cache(maxsize=4096)
def action_name(event_source: str, event_name: str) -> str:
    """``s3:GetObject`` from ``s3.amazonaws.com`` and ``GetObject``: IAM's spelling."""
    service = event_source.removesuffix(".amazonaws.com")
    return clip(f"{service}:{event_name}", NAME_CHARS)


class Reduction:
    """Counts per (access key id, day); ``add`` one event, ``merge`` another reduction."""

    def __init__(self):
        self.days: dict[tuple[str, date], DayUsage] = {}

    def add(self, event: KeyEvent) -> None:
        day = event.event_time.astimezone(UTC).date()  # CloudTrail's days are UTC days
        usage = self.days.get((event.access_key_id, day))
        if usage is None:
            usage = self.days[(event.access_key_id, day)] = DayUsage(
                account_id=_clipped(event.account_id, 12))
        usage.events += 1
        usage.errors += bool(event.error_code)
        _count(usage.user_agents, _clipped(event.user_agent, AGENT_CHARS))
        _count(usage.event_sources, _clipped(event.event_source, NAME_CHARS))
        action = action_name(event.event_source, event.event_name)
        _count(usage.actions, action)
        _count(usage.regions, _clipped(event.region, NAME_CHARS))
        address = _clipped(event.source_address, ADDRESS_CHARS)
        endpoint = _clipped(event.vpc_endpoint_id, ENDPOINT_CHARS)
        seen = usage.addresses.get(address)
        if seen is None:
            seen = usage.addresses[address] = AddressUsage(
                event.event_time, event.event_time, 0, event.via_aws_service, endpoint)
        else:
            seen.first_seen = min(seen.first_seen, event.event_time)
            seen.last_seen = max(seen.last_seen, event.event_time)
            seen.via_aws_service = seen.via_aws_service or event.via_aws_service
            seen.vpc_endpoint_id = same_endpoint(seen.vpc_endpoint_id, endpoint)
        seen.events += 1
        _count(seen.actions, action, MAX_ADDRESS_ACTIONS)

    def merge(self, other: "Reduction") -> None:
        for where, usage in other.days.items():
            if where in self.days:
                self.days[where].merge(usage)
            else:
                self.days[where] = mine = DayUsage(account_id=usage.account_id)
                mine.merge(usage)

    @property
    def keys(self) -> set[str]:
        return {key for key, _day in self.days}


@dataclass
class ObjectRead:
    """One log file after reading: its counts, or why it is malformed (counts then None)."""

    log: LogObject
    stats: ReadStats
    reduction: Reduction | None
    malformed: str = ""


@dataclass
class StoreResult:
    stored: int = 0  # files recorded now (read or malformed)
    already: int = 0  # files some earlier read had recorded: nothing added for them
    events: int = 0
    keys: set[str] = field(default_factory=set)


def usage_store(reads: list[ObjectRead]) -> StoreResult:
    """Record the files and add the counts of those no earlier read recorded, in one
    transaction: either a file is recorded and its counts added, or neither."""
    result = StoreResult()
    if not reads:
        return result
    with transaction.atomic():
        claimed = _claim(reads)
        merged = Reduction()
        for read in reads:
            if read.log.key not in claimed:
                result.already += 1
                continue
            result.stored += 1
            if read.reduction is not None:
                merged.merge(read.reduction)
                result.events += read.stats.kept
        _add_days(merged)
        _add_addresses(merged)
    result.keys = merged.keys
    return result


def _claim(reads: list[ObjectRead]) -> set[str]:
    """Insert a ``TrailObject`` per file unless one exists; the keys inserted now.

    A concurrent transaction inserting the same key makes this one wait for it and then
    skip the key: the file is counted by whichever committed first.
    """
    quote = connection.ops.quote_name
    table = quote(TrailObject._meta.db_table)
    names = ("key", "account_id", "region", "day", "size", "status", "reason", "records",
             "events_kept", "read_at")
    columns = [quote(name) for name in names]
    now = timezone.now()
    rows: list[str] = []
    params: list[Any] = []
    for read in sorted(reads, key=lambda read: read.log.key):  # one order: no deadlock
        status = TrailObject.Status.MALFORMED if read.malformed else TrailObject.Status.READ
        rows.append("(" + ", ".join(["%s"] * len(columns)) + ")")
        params += [read.log.key, read.log.account_id, read.log.region, read.log.day,
                   read.stats.compressed_bytes or read.log.size, status,
                   clip(read.malformed, 255), read.stats.records,
                   0 if read.malformed else read.stats.kept, now]
    # Only constant names and placeholders are formatted in; every value is a parameter.
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(rows)} "  # noqa: S608
           f"ON CONFLICT ({columns[0]}) DO NOTHING RETURNING {columns[0]}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _locked(model: type[M], fields: list[str], wanted: set[tuple],
            defaults: Callable[[tuple], M]) -> dict[tuple, M]:
    """The rows of ``model`` named by ``wanted`` (tuples of ``fields``), created empty where
    missing, locked for this transaction in a fixed order (no deadlock between workers)."""
    manager = model._default_manager
    # Inserted in sorted order too: two workers inserting overlapping rows in different
    # orders wait on each other's uncommitted index entries (a deadlock seen at 2 processes
    # in `bench.trail_read`); in one order, the second simply waits for the first.
    manager.bulk_create([defaults(where) for where in sorted(wanted)], ignore_conflicts=True)
    filters = {f"{name}__in": {where[i] for where in wanted} for i, name in enumerate(fields)}
    rows = manager.select_for_update().filter(**filters).order_by(*fields, "pk")
    found: dict[tuple, M] = {}
    for row in rows:
        where = tuple(getattr(row, name) for name in fields)
        if where in wanted:
            found[where] = row
    return found


def _add_days(merged: Reduction) -> None:
    if not merged.days:
        return
    rows = _locked(KeyUsageDay, ["access_key_id", "day"], set(merged.days),
                   lambda where: KeyUsageDay(access_key_id=where[0], day=where[1],
                                             account_id=merged.days[where].account_id))
    for where, usage in merged.days.items():
        row = rows[where]
        row.account_id = row.account_id or usage.account_id
        row.events += usage.events
        row.errors += usage.errors
        for stored, new in ((row.user_agents, usage.user_agents),
                            (row.event_sources, usage.event_sources),
                            (row.actions, usage.actions), (row.regions, usage.regions)):
            add_capped(stored, new)
    KeyUsageDay.objects.bulk_update(
        rows.values(), ["account_id", "events", "errors", "user_agents", "event_sources",
                        "actions", "regions", "updated_at"])


def _add_addresses(merged: Reduction) -> None:
    wanted = {(key, day, address): usage
              for (key, day), day_usage in merged.days.items()
              for address, usage in day_usage.addresses.items()}
    if not wanted:
        return
    rows = _locked(KeyUsageAddress, ["access_key_id", "day", "address"], set(wanted),
                   lambda where: KeyUsageAddress(
                       access_key_id=where[0], day=where[1], address=where[2], events=0,
                       first_seen=wanted[where].first_seen, last_seen=wanted[where].last_seen,
                       via_aws_service=wanted[where].via_aws_service,
                       vpc_endpoint_id=wanted[where].vpc_endpoint_id))
    for where, usage in wanted.items():
        row = rows[where]
        # A row stored before any of these calls (events > 0) keeps its endpoint only if
        # these came through it too; a row created just now starts from theirs.
        if row.events:
            row.vpc_endpoint_id = same_endpoint(row.vpc_endpoint_id, usage.vpc_endpoint_id)
        row.first_seen = min(row.first_seen, usage.first_seen)
        row.last_seen = max(row.last_seen, usage.last_seen)
        row.events += usage.events
        row.via_aws_service = row.via_aws_service or usage.via_aws_service
        add_capped(row.actions, usage.actions, limit=MAX_ADDRESS_ACTIONS)
    KeyUsageAddress.objects.bulk_update(
        rows.values(), ["first_seen", "last_seen", "events", "via_aws_service", "actions",
                        "vpc_endpoint_id"])


def retention_start(today: date) -> date:
    """The oldest day kept: rows before it are pruned, and no read goes back before it (a
    pruned day read again would be counted as new)."""
    return today - timedelta(days=settings.KEYLEDGER_EVIDENCE_RETENTION_DAYS - 1)


def usage_prune(*, today: date) -> int:
    """Delete the daily rows, addresses and read-file records older than the retention;
    the number of rows deleted."""
    start = retention_start(today)
    deleted = 0
    for model in (KeyUsageDay, KeyUsageAddress, TrailObject):
        deleted += model.objects.filter(day__lt=start).delete()[0]
    return deleted
