"""The optional forwarder of audit events to a write-once sink, off unless configured.

``KEYLEDGER_AUDIT_SINK=s3`` puts each batch as a JSON-lines object into a bucket with Object
Lock; ``syslog`` sends RFC 5424 messages over TCP to a log collector. Each line is one event
with its id, content, ``prev_hash`` and ``hash``, so the copy can be checked on its own with
``core.audit_chain.walk`` and compared with the database.

Delivery is at least once and in id order. ``audit_events_forward`` ships the events after
the sink's ``AuditForwarding.last_event_id`` and moves it only once the sink has them; a
failed batch leaves it where it was, to be sent again by the next run (after the next
decision commits, or the 5-minute schedule). No event is skipped: ``audit()`` writes under
the chain lock held until commit, so events become visible in id order, and reading "after
the last id shipped" never passes over one still being written.
"""

import json
import logging
import socket
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit_chain import ROW_FIELDS, utc_text

from .aws.audit_sink import SinkWriteError, put_retained_object
from .models import AuditEvent, AuditForwarding

BATCH = 500
log = logging.getLogger("keyledger.audit")


class SinkError(Exception):
    """The sink did not take the batch; nothing was marked as shipped."""


def event_line(row: dict) -> str:
    """One event as a JSON line: every field the hash covers, plus id and the two hashes."""
    return json.dumps({**row, "at": utc_text(row["at"])}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


class S3Sink:
    def __init__(self, *, bucket: str, prefix: str, mode: str, days: int):
        self.bucket, self.prefix, self.mode, self.days = bucket, prefix, mode, days
        self.name = f"s3://{bucket}/{prefix}"

    def ship(self, rows: list[dict]) -> None:
        key = f"{self.prefix}{rows[0]['id']:012d}-{rows[-1]['id']:012d}.jsonl"
        body = "".join(event_line(row) + "\n" for row in rows).encode()
        try:
            put_retained_object(bucket=self.bucket, key=key, body=body, mode=self.mode,
                                retain_until=timezone.now() + timedelta(days=self.days))
        except SinkWriteError as exc:
            raise SinkError(str(exc)) from None


class SyslogSink:
    """RFC 5424 over TCP with octet-counting framing (RFC 6587), facility authpriv.

    TCP tells us the collector's socket took every byte, not that it wrote them: for an
    acknowledged, write-once copy use the S3 sink.
    """

    PRI = 10 * 8 + 6  # authpriv.info

    def __init__(self, address: str):
        where = urlsplit(address)
        # config/settings.py refuses a syslog address without a host and a port.
        self.host, self.port = where.hostname, where.port or 0
        self.name = f"syslog+tcp://{self.host}:{self.port}"

    def ship(self, rows: list[dict]) -> None:
        hostname = socket.gethostname()[:255] or "-"
        frames = []
        for row in rows:
            message = (f"<{self.PRI}>1 {utc_text(row['at'])} {hostname} keyledger - audit - "
                       f"{event_line(row)}").encode()
            frames.append(f"{len(message)} ".encode() + message)
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as connection:
                connection.sendall(b"".join(frames))
                connection.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise SinkError(f"syslog at {self.host}:{self.port}: {exc}") from None


def configured_sink() -> S3Sink | SyslogSink | None:
    """The sink the settings name, or None when forwarding is off."""
    if settings.KEYLEDGER_AUDIT_SINK == "s3":
        return S3Sink(bucket=settings.KEYLEDGER_AUDIT_SINK_BUCKET,
                      prefix=settings.KEYLEDGER_AUDIT_SINK_PREFIX,
                      mode=settings.KEYLEDGER_AUDIT_SINK_LOCK_MODE,
                      days=settings.KEYLEDGER_AUDIT_SINK_RETENTION_DAYS)
    if settings.KEYLEDGER_AUDIT_SINK == "syslog":
        return SyslogSink(settings.KEYLEDGER_AUDIT_SINK_SYSLOG)
    return None


@dataclass(frozen=True)
class Forwarded:
    shipped: int
    through: int
    error: str = ""


def audit_events_forward(*, sink=None, batch: int = BATCH) -> Forwarded:
    """Ship every event the sink does not have yet, oldest first, ``batch`` at a time.

    One forwarder per sink at a time (a row lock on its ``AuditForwarding``). On a failure
    the position stays, the failure is recorded (and shown on the audit page), and the
    error is returned, not raised: the next run sends the same events again.
    """
    sink = sink or configured_sink()
    if sink is None:
        return Forwarded(shipped=0, through=0)
    state, _ = AuditForwarding.objects.get_or_create(sink=sink.name)
    shipped = 0
    while True:
        with transaction.atomic():
            state = AuditForwarding.objects.select_for_update().get(pk=state.pk)
            rows = list(AuditEvent.objects.filter(id__gt=state.last_event_id)
                        .order_by("id").values(*ROW_FIELDS)[:batch])
            if not rows:
                return Forwarded(shipped=shipped, through=state.last_event_id)
            try:
                sink.ship(rows)
            except SinkError as exc:
                state.failures += 1
                state.failed_at, state.last_error = timezone.now(), str(exc)[:500]
                state.save(update_fields=["failures", "failed_at", "last_error"])
                log.warning("audit events after #%s not shipped to %s (attempt %s): %s",
                            state.last_event_id, sink.name, state.failures, exc,
                            extra={"event": "audit_sink_failed", "sink": sink.name})
                return Forwarded(shipped=shipped, through=state.last_event_id, error=str(exc))
            state.last_event_id, state.shipped_at = rows[-1]["id"], timezone.now()
            state.failures, state.last_error = 0, ""
            state.save(update_fields=["last_event_id", "shipped_at", "failures", "last_error"])
            shipped += len(rows)
