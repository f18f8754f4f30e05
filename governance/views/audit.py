"""The audit log: every governance decision, filterable, and the state of its hash chain;
security team only."""

from django.db.models import Q
from django.shortcuts import render

from ..access import security_required
from ..audit_sink import configured_sink
from ..models import AuditEvent, AuditForwarding, AuditVerification
from ..untrusted import query_text
from .paging import page_of


@security_required
def audit_log(request):
    events = AuditEvent.objects.all()
    action = query_text(request, "action", 60)
    actor = query_text(request, "actor", 254)
    text = query_text(request, "q", 200)
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if text:
        events = events.filter(Q(summary__icontains=text) | Q(object_id=text))
    page, query = page_of(request, events, per_page=100)
    actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    return render(request, "governance/audit_log.html", {
        "page": page, "query": query, "actions": actions,
        "current": {"action": action, "actor": actor, "q": text}, **chain_state()})


def chain_state() -> dict:
    """The last verification of the hash chain, how many events came after its head, and how
    far the write-once sink has them: indexed queries, never a walk (the hourly task and
    ``verify_audit`` walk the chain)."""
    verification = AuditVerification.objects.order_by("-id").first()
    since = None
    if verification is not None and verification.ok:
        since = AuditEvent.objects.filter(id__gt=verification.head_event_id or 0).count()
    sink = configured_sink()
    forwarding = sink and (AuditForwarding.objects.filter(sink=sink.name).first()
                           or AuditForwarding(sink=sink.name))
    return {"verification": verification, "unverified_events": since, "forwarding": forwarding}
