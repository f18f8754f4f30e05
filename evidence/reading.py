"""Reading the organization trail incrementally: which files are new, and reading a batch.

Per account and region a watermark holds the day listing starts from. Each read lists from
that day on (``StartAfter``: earlier days cost nothing), skips the files already recorded,
and moves the watermark to the oldest day that still has an unread file, or to the newest
day listed when none is left. The watermark therefore never passes a file a failed batch
left unread: the next run lists that day again and reads the file then. ``--days`` (or
``KEYLEDGER_EVIDENCE_DAYS`` for a first read) bounds how far back a read goes, and never
past the retention, so a pruned day is never read, and counted, again.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from governance.aws.errors import CollectionError
from governance.aws.session import AccountSession
from governance.aws.trail import (
    LogObject,
    MalformedLog,
    ReadStats,
    account_prefixes,
    list_objects,
    read_events,
    regions,
    trail_session,
)
from governance.evaluation import evaluate_and_announce
from governance.models import AccessKey, Registration

from .models import TrailObject, TrailWatermark
from .usage import ObjectRead, Reduction, StoreResult, retention_start, usage_store

_LOOKUP_CHUNK = 1000
log = logging.getLogger("keyledger.evidence")


@dataclass
class Plan:
    """The unread files of one account, in batches, and what listing them cost;
    ``newest`` holds, per region, the newest day listed (where its watermark may go once
    every file is read)."""

    account_id: str
    listed: int = 0
    batches: list[list[LogObject]] = field(default_factory=list)
    newest: dict[str, date] = field(default_factory=dict)

    @property
    def unread(self) -> int:
        return sum(len(batch) for batch in self.batches)


@dataclass
class BatchOutcome:
    stored: StoreResult
    malformed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # unread file -> why


def first_day(*, today: date, days: int | None) -> date:
    """The oldest day a read may list: ``days`` back (default the evidence window), never
    before the retention start."""
    wanted = today - timedelta(days=(days or settings.KEYLEDGER_EVIDENCE_DAYS) - 1)
    return max(wanted, retention_start(today))


def trail_accounts(session: AccountSession) -> dict[str, list[str]]:
    """The accounts the trail has logs for, with their prefixes."""
    return account_prefixes(session, bucket=settings.KEYLEDGER_TRAIL_BUCKET,
                            prefix=settings.KEYLEDGER_TRAIL_PREFIX)


def plan_account(session: AccountSession, *, account_id: str, prefixes: list[str],
                 today: date, days: int | None = None) -> Plan:
    """List one account's new files in every region and move its watermarks (see module)."""
    floor = first_day(today=today, days=days)
    plan = Plan(account_id)
    batch_size = settings.KEYLEDGER_TRAIL_BATCH_OBJECTS
    marks = {m.region: m for m in TrailWatermark.objects.filter(account_id=account_id)}
    oldest_unread: dict[str, date] = {}
    for prefix in prefixes:
        for region in regions(session, bucket=settings.KEYLEDGER_TRAIL_BUCKET,
                              account_prefix=prefix):
            mark = marks.get(region)
            since = max(mark.day, floor) if mark else floor
            listed = list(list_objects(session, bucket=settings.KEYLEDGER_TRAIL_BUCKET,
                                       account_prefix=prefix, region=region, since=since))
            plan.listed += len(listed)
            recorded = _recorded(listed)
            unread = [log for log in listed if log.key not in recorded]
            for start in range(0, len(unread), batch_size):
                plan.batches.append(unread[start:start + batch_size])
            plan.newest[region] = max([log.day for log in listed]
                                      + [plan.newest.get(region, since)])
            if unread:
                oldest_unread[region] = min([log.day for log in unread]
                                            + [oldest_unread.get(region, unread[0].day)])
    # After every prefix: an account can have two (an account trail, then the organization's).
    for region, newest in plan.newest.items():
        _move_watermark(account_id, region, marks.get(region),
                        oldest_unread.get(region, newest))
    return plan


def _move_watermark(account_id: str, region: str, mark: TrailWatermark | None,
                    day: date) -> None:
    if mark is None or day > mark.day:
        TrailWatermark.objects.update_or_create(account_id=account_id, region=region,
                                                defaults={"day": day})


def _recorded(listed: list[LogObject]) -> set[str]:
    """The keys among ``listed`` that an earlier read recorded (read or malformed)."""
    keys = [log.key for log in listed]
    found: set[str] = set()
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        found.update(TrailObject.objects.filter(key__in=keys[start:start + _LOOKUP_CHUNK])
                     .values_list("key", flat=True))
    return found


def read_batch(session: AccountSession, batch: list[LogObject]) -> BatchOutcome:
    """Read and reduce each file, then store the batch in one transaction.

    A malformed file is recorded with why and contributes nothing; a file S3 would not give
    (denied, throttled, cut off) is left unrecorded and named in ``failed``, for a later
    read; the others are stored all the same.
    """
    reads: list[ObjectRead] = []
    failed: dict[str, str] = {}
    malformed = 0
    for log in batch:
        stats, reduction = ReadStats(), Reduction()
        try:
            for event in read_events(session, bucket=settings.KEYLEDGER_TRAIL_BUCKET,
                                     key=log.key, stats=stats):
                reduction.add(event)
        except MalformedLog as bad:
            malformed += 1
            reads.append(ObjectRead(log, stats, None, malformed=bad.reason))
            continue
        except CollectionError as error:
            failed[log.key] = error.message
            continue
        reads.append(ObjectRead(log, stats, reduction))
    stored = usage_store(reads)
    reevaluate_evidence_keys(stored.keys)
    return BatchOutcome(stored, malformed=malformed, failed=failed)


def reevaluate_evidence_keys(access_key_ids: set[str]) -> int:
    """Re-evaluate the keys whose evidence just grew, so ``UNEXPECTED_SOURCE`` opens with
    the read rather than at the next sync; the number re-evaluated. Only keys with declared
    sources can change (no other rule reads the evidence). Their rows are locked first, in
    one order: two batches touching the same key evaluate it one after the other, the second
    seeing the first's findings."""
    if not access_key_ids:
        return 0
    for attempt in (1, 2):
        try:
            return _reevaluate(access_key_ids)
        except IntegrityError as error:
            # A sync judging one of these keys at the same moment opened the same finding
            # first; once it has committed, judging again sees it. If that fails too, the
            # evidence is stored all the same and the account's next sync judges the key.
            if attempt == 2:
                log.warning("re-evaluation after a trail read lost to a sync: %s", error)
    return 0


def _reevaluate(access_key_ids: set[str]) -> int:
    with transaction.atomic():
        declaring = (Registration.objects.filter(
            superseded_at__isnull=True, key__access_key_id__in=access_key_ids,
            key__removed_at__isnull=True).exclude(declared_sources=[]).values("key_id"))
        locked = list(AccessKey.objects.select_for_update().filter(pk__in=declaring)
                      .order_by("pk").values_list("pk", flat=True))
        if locked:
            evaluate_and_announce(keys=AccessKey.objects.filter(pk__in=locked))
    return len(locked)


@dataclass
class AccountRead:
    """What reading one account did, for the command's line and the task's log."""

    account_id: str
    listed: int = 0
    read: int = 0
    malformed: int = 0
    events: int = 0
    keys: set[str] = field(default_factory=set)
    calls: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def read_account(*, account_id: str, prefixes: list[str], today: date,
                 days: int | None = None, session: AccountSession | None = None) -> AccountRead:
    """List and read one account's new files in this process (the command's way)."""
    outcome = AccountRead(account_id)
    session = session or trail_session(outcome.calls)
    try:
        plan = plan_account(session, account_id=account_id, prefixes=prefixes, today=today,
                            days=days)
    except CollectionError as error:
        outcome.errors.append(error.message)
        return outcome
    outcome.listed = plan.listed
    unread: dict[str, date] = {}  # region -> oldest day of a file left unread
    for batch in plan.batches:
        result = read_batch(session, batch)
        outcome.read += result.stored.stored
        outcome.malformed += result.malformed
        outcome.events += result.stored.events
        outcome.keys |= result.stored.keys
        outcome.errors += [f"{key}: {why}" for key, why in result.failed.items()]
        for log in batch:
            if log.key in result.failed:
                unread[log.region] = min(log.day, unread.get(log.region, log.day))
    # Read in this process, so the watermarks move now rather than at the next read.
    marks = {m.region: m for m in TrailWatermark.objects.filter(account_id=account_id)}
    for region, newest in plan.newest.items():
        _move_watermark(account_id, region, marks.get(region), unread.get(region, newest))
    outcome.calls = session.calls
    return outcome
