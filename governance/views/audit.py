"""The audit log: every governance decision, filterable, and the state of its hash chain;
security team only."""

from django.db.models import Q
from django.shortcuts import render

from ..access import security_required
from ..selectors import audit_actions, audit_chain, audit_events_visible_to
from ..untrusted import query_text
from .paging import page_of


@security_required
def audit_log(request):
    events = audit_events_visible_to(request.user)
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
    return render(request, "governance/audit_log.html", {
        "page": page, "query": query, "actions": audit_actions(), "chain": audit_chain(),
        "current": {"action": action, "actor": actor, "q": text}})
