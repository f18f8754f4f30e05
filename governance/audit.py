"""Writing the audit trail. Every service that changes governance state calls ``audit``."""

import logging

from django.db import transaction
from django.utils import timezone

from .models import AuditEvent

SYSTEM_ACTOR = "system"
log = logging.getLogger("keyledger.audit")


def audit(*, actor, action: str, obj=None, object_type: str = "", object_id: str = "",
          summary: str, before=None, after=None, at=None) -> AuditEvent:
    """Record one event; call inside the transaction of the change it describes.

    It is logged too (one line with structured fields) once that transaction commits, so
    log collectors see every decision that happened and none that was rolled back.
    """
    event = AuditEvent.objects.create(
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
    fields = {"event": "governance_decision", "action": event.action, "actor": event.actor_label,
              "object_type": event.object_type, "object_id": event.object_id,
              "audit_event_id": event.pk}
    transaction.on_commit(lambda: log.info("%s", event.summary, extra=fields))
    return event
