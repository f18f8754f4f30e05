"""The audit log and the state of its hash chain, for the security team."""

from dataclasses import dataclass

from ..access import is_security
from ..audit_sink import configured_sink
from ..models import AuditEvent, AuditForwarding, AuditVerification


def audit_events_visible_to(person):
    """Every audit event, newest first, for the security team; none for anyone else."""
    return AuditEvent.objects.all() if is_security(person) else AuditEvent.objects.none()


def audit_actions():
    """The distinct actions the log holds, A-Z (the action filter's choices)."""
    return AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()


@dataclass(frozen=True)
class AuditChain:
    verification: AuditVerification | None  # the last check of the hash chain
    unverified_events: int | None  # events written after its head; None unless it passed
    forwarding: AuditForwarding | None  # how far the write-once sink has them; None: no sink


def audit_chain() -> AuditChain:
    """The state of the hash chain and of its write-once copy, from indexed queries, never a
    walk (the hourly task and ``verify_audit`` walk the chain)."""
    verification = AuditVerification.objects.order_by("-id").first()
    since = None
    if verification is not None and verification.ok:
        since = AuditEvent.objects.filter(id__gt=verification.head_event_id or 0).count()
    sink = configured_sink()
    forwarding = None
    if sink is not None:
        forwarding = (AuditForwarding.objects.filter(sink=sink.name).first()
                      or AuditForwarding(sink=sink.name))
    return AuditChain(verification, since, forwarding)
