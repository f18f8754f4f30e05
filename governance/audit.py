"""Writing the audit trail. Every service that changes governance state calls ``audit``."""

from django.utils import timezone

from .models import AuditEvent

SYSTEM_ACTOR = "system"


def audit(*, actor, action: str, obj=None, object_type: str = "", object_id: str = "",
          summary: str, before=None, after=None, at=None) -> AuditEvent:
    """Record one event; call inside the transaction of the change it describes."""
    return AuditEvent.objects.create(
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
