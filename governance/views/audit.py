"""The audit log: every governance decision, filterable, and the state of its hash chain;
security team only."""

from django.shortcuts import render

from ..access import security_required
from ..filters import AuditEventFilter
from ..selectors import audit_actions, audit_chain, audit_events_visible_to
from .paging import page_of


@security_required
def audit_log(request):
    event_filter = AuditEventFilter(request.GET, queryset=audit_events_visible_to(request.user),
                                    request=request)
    valid = event_filter.is_valid()
    events = event_filter.qs if valid else event_filter.queryset.none()
    page, query = page_of(request, events, per_page=100)
    return render(request, "governance/audit_log.html", {
        "page": page, "query": query, "actions": audit_actions(), "chain": audit_chain(),
        "filter": event_filter, "current": event_filter.form.cleaned_data if valid else {},
    }, status=200 if valid else 400)
