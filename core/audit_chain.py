"""The audit log as a hash chain: each event's hash covers its content and the previous hash.

``event_hash`` is the contract between the writer (``core.audit.audit``), the verifier
(``manage.py verify_audit``), the migration that chained the events written before it, and
anyone checking a copy shipped to the write-once sink: SHA-256 over the canonical JSON of the
event's content plus the previous event's hash (``GENESIS`` for the first). Changing an event,
removing one, or reordering them breaks a link; rewriting every hash after a change is caught
by the last verification's head (and by the sink's copy).
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

GENESIS = "0" * 64
CHAIN_VERSION = 1
# The fields of AuditEvent the hash covers, in the order rows are read for verification.
CONTENT_FIELDS = ("at", "actor_id", "actor_label", "action", "object_type", "object_id",
                  "summary", "before", "after")
ROW_FIELDS = ("id", *CONTENT_FIELDS, "prev_hash", "hash")


def _json_value(value):
    """``value`` as it reads back from the database's JSON column (jsonb keeps numbers as
    decimals: an integral float such as 3.0 or 1e16 comes back as a whole number)."""
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    return value


def utc_text(at: datetime) -> str:
    """The instant as hashed and shipped: UTC, microseconds, e.g. 2025-01-31T09:00:00.000000Z."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(content: dict, prev_hash: str) -> bytes:
    """The bytes hashed: sorted keys, no spaces, UTF-8, JSON values normalised as stored."""
    document = {
        "v": CHAIN_VERSION,
        "at": utc_text(content["at"]),
        "actor_id": content["actor_id"],
        **{name: content[name] for name in ("actor_label", "action", "object_type",
                                            "object_id", "summary")},
        "before": _json_value(json.loads(json.dumps(content["before"]))),
        "after": _json_value(json.loads(json.dumps(content["after"]))),
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def event_hash(content: dict, prev_hash: str) -> str:
    """The hex SHA-256 of the event's canonical content and the previous event's hash."""
    return hashlib.sha256(canonical(content, prev_hash)).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """The newest event a past verification found intact: it must still be there, unchanged."""
    event_id: int
    hash: str
    verified_at: datetime


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a walk: intact (``ok``) through ``head_id``, or the first broken link."""
    ok: bool
    events: int
    head_id: int | None = None
    head_hash: str = ""
    broken_id: int | None = None
    broken_at: datetime | None = None
    problem: str = ""


def _short(digest: str) -> str:
    return f"{digest[:12]}…" if digest else "(empty)"


def walk(rows: Iterable[dict], anchor: Anchor | None = None) -> ChainReport:
    """Check every link, in id order, stopping at the first broken one.

    ``rows`` are dicts with ``ROW_FIELDS``; only the previous row is kept, so memory stays
    constant however long the log.
    """
    prev_hash, prev_id, count, anchor_seen = GENESIS, None, 0, anchor is None

    def broken(row, problem):
        return ChainReport(ok=False, events=count, head_id=prev_id, head_hash=prev_hash,
                           broken_id=row["id"], broken_at=row["at"], problem=problem)

    for row in rows:
        count += 1
        if not row["hash"]:
            return broken(row, "has no hash: it was put into the table directly, not written "
                               "by Keyledger's audit()")
        if row["prev_hash"] != prev_hash:
            if prev_id is None:
                return broken(row, f"is the first event but links to "
                                   f"{_short(row['prev_hash'])}, not to the start of the "
                                   "chain: the events before it were removed")
            return broken(row, f"links to {_short(row['prev_hash'])} but the event before it, "
                               f"#{prev_id}, has hash {_short(prev_hash)}: events between "
                               "them were removed or reordered")
        computed = event_hash(row, row["prev_hash"])
        if computed != row["hash"]:
            return broken(row, f"does not match its hash (stored {_short(row['hash'])}, its "
                               f"content gives {_short(computed)}): it was changed after it "
                               "was written")
        if anchor is not None and row["id"] == anchor.event_id:
            anchor_seen = True
            if row["hash"] != anchor.hash:
                return broken(row, f"has hash {_short(row['hash'])}, not "
                                   f"{_short(anchor.hash)} as when it was verified at "
                                   f"{utc_text(anchor.verified_at)}: the chain was rewritten "
                                   "up to here")
        prev_hash, prev_id = row["hash"], row["id"]
    if anchor is not None and not anchor_seen:
        return ChainReport(
            ok=False, events=count, head_id=prev_id, head_hash=prev_hash,
            broken_id=anchor.event_id, broken_at=None,
            problem=f"is gone: it was the newest event when the chain was verified at "
                    f"{utc_text(anchor.verified_at)}, so events were removed from the end")
    return ChainReport(ok=True, events=count, head_id=prev_id, head_hash=prev_hash)


def stored_rows(queryset, batch: int = 2000) -> Iterator[dict]:
    """Every row of ``queryset`` (AuditEvents) in id order, ``batch`` at a time (keyset
    paging: constant memory, no server-side cursor, so it works through PgBouncer too)."""
    last = 0
    while True:
        rows = list(queryset.filter(id__gt=last).order_by("id").values(*ROW_FIELDS)[:batch])
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1]["id"]
