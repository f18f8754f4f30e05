"""The audit log and the state of its hash chain, for the security team."""

import json
from dataclasses import dataclass

from django.urls import reverse

from ..access import is_security
from ..audit_sink import configured_sink
from ..models import AuditEvent, AuditForwarding, AuditVerification


def audit_events_visible_to(person):
    """Every audit event, newest first, for the security team; none for anyone else."""
    return AuditEvent.objects.all() if is_security(person) else AuditEvent.objects.none()


# The pages an audited object has, by the object type ``core.audit.audit`` records.
OBJECT_PAGES = {"AccessKey": "key-detail", "ExceptionRequest": "exception-detail"}


@dataclass(frozen=True)
class AuditChange:
    """One field an event changed, both sides as text ("" when absent)."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    changes: list[AuditChange]
    object_url: str  # the object's page; "" when it has none


def audit_rows(events) -> list[AuditRow]:
    """The events of a page with their before/after as fields and the object's page."""
    return [AuditRow(event, audit_changes(event.before, event.after), _object_url(event))
            for event in events]


def audit_changes(before, after) -> list[AuditChange]:
    """Field by field, in the order the service wrote them: what it was and what it became.
    A side that is not a mapping (a bare value) is one change with no field name."""
    if before is None and after is None:
        return []
    if not isinstance(before or {}, dict) or not isinstance(after or {}, dict):
        return [AuditChange("", readable(before), readable(after))]
    before, after = before or {}, after or {}
    fields = [*before, *(name for name in after if name not in before)]
    return [AuditChange(name.replace("_", " "), readable(before.get(name)),
                        readable(after.get(name))) for name in fields]


def readable(value) -> str:
    """A JSON value as a person reads it: yes/no, lists joined, mappings as ``key: value``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{name}: {readable(item)}" for name, item in value.items())
    return str(value)


def audit_json(value) -> str:
    """``before`` / ``after`` as the CSV export writes them: compact JSON, "" when empty."""
    return "" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _object_url(event: AuditEvent) -> str:
    page = OBJECT_PAGES.get(event.object_type)
    if event.object_type == "AwsAccount" and event.object_id.isdigit():
        return f"{reverse('aws-accounts')}#account-{event.object_id}"
    if page is None or not event.object_id.isdigit():
        return ""
    return reverse(page, args=[int(event.object_id)])


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
