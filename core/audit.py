"""Writing the audit trail. Every service that changes state (people, tokens, governance)
calls ``audit``.

The ``AuditEvent`` and ``AuditVerification`` models stay in ``governance``: moving them would
move their tables (``governance_auditevent``, guarded by migration 0010's append-only
triggers) or need a state-only migration across two apps, for no change in behaviour.
"""

import logging
from typing import cast

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from governance.models import AuditEvent, AuditVerification

from .audit_chain import GENESIS, Anchor, event_hash, stored_rows, walk
from .signals import audit_committed

SYSTEM_ACTOR = "system"
# pg_advisory_xact_lock key of the audit chain's head (any fixed 64-bit number, used nowhere
# else): held from reading the last hash until the writing transaction ends.
CHAIN_LOCK = 0x4B4C_4155_4449_5431
log = logging.getLogger("keyledger.audit")


def _chain_head(using: str) -> str:
    """The newest event's hash, read under the chain lock so no other writer can link to it
    too (Postgres: an advisory lock held until this transaction commits or rolls back, so
    ids, commits and links all follow one order). SQLite (the demo) has one writer at a time.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    newest = AuditEvent.objects.using(using).order_by("-id").values_list("hash", flat=True)[:1]
    return next(iter(newest), GENESIS)


def audit(*, actor, action: str, obj=None, object_type: str = "", object_id: str = "",
          summary: str, before=None, after=None, at=None) -> AuditEvent:
    """Record one event; call inside the transaction of the change it describes.

    The event is chained to the one before it by hash (``core.audit_chain``). It is
    logged too (one line with structured fields) once that transaction commits, so log
    collectors see every decision that happened and none that was rolled back.
    """
    event = AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=getattr(actor, "email", None) or SYSTEM_ACTOR,
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=object_id or (str(obj.pk) if obj is not None else ""),
        summary=summary[:500],
        before=before,
        after=after,
        at=at or timezone.now(),
    )
    using = router.db_for_write(AuditEvent)
    # atomic: outside a caller's transaction the lock must still cover the insert.
    with transaction.atomic(using=using):
        event.prev_hash = _chain_head(using)
        event.hash = event_hash(vars(event), event.prev_hash)
        event.save(force_insert=True, using=using)
    fields = {"event": "governance_decision", "action": event.action, "actor": event.actor_label,
              "object_type": event.object_type, "object_id": event.object_id,
              "audit_event_id": event.pk, "hash": event.hash}
    transaction.on_commit(lambda: log.info("%s", event.summary, extra=fields), using=using)
    if settings.KEYLEDGER_AUDIT_SINK:
        # governance ships the events to the write-once sink (``governance.receivers``).
        transaction.on_commit(lambda: audit_committed.send(sender=AuditEvent, event=event),
                              using=using)
    return event


def audit_chain_verify(*, batch: int = 2000) -> AuditVerification:
    """Walk the whole chain from the first event, ``batch`` rows at a time, and record the
    outcome: intact through the newest event, or the first broken link with what is wrong.

    The newest intact verification's head must still be there with the same hash, so
    events removed from the end, or a chain rewritten with fresh hashes, are caught too.
    """
    anchor = (AuditVerification.objects.filter(ok=True, head_event_id__isnull=False)
              .order_by("-id").first())
    # head_event_id is never null here (filtered above), which the stubs cannot know.
    report = walk(stored_rows(AuditEvent.objects.all(), batch), Anchor(
        event_id=cast(int, anchor.head_event_id), hash=anchor.head_hash,
        verified_at=anchor.checked_at) if anchor else None)
    verification = AuditVerification.objects.create(
        checked_at=timezone.now(), ok=report.ok, events=report.events,
        head_event_id=report.head_id, head_hash=report.head_hash,
        broken_event_id=report.broken_id, broken_at=report.broken_at,
        problem=report.problem[:500])
    if not report.ok:
        log.error("audit chain broken at event #%s: %s", report.broken_id, report.problem,
                  extra={"event": "audit_chain_broken", "audit_event_id": report.broken_id})
    return verification
