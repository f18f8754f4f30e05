"""The audit log: every governance decision, filterable by action, person, text and days,
exportable as CSV (the rows the filters select), and the state of its hash chain; security
team only."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from ..access import security_required
from ..exports import neutralise_formula
from ..filters import AuditEventFilter
from ..selectors import audit_actions, audit_chain, audit_events_visible_to
from ..selectors.audit import audit_json, audit_rows
from .paging import page_of

AUDIT_CSV_COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "summary",
                     "before", "after", "hash")


@security_required
def audit_log(request):
    event_filter = _filtered(request)
    valid = event_filter.is_valid()
    events = event_filter.qs if valid else event_filter.queryset.none()
    page, query = page_of(request, events, per_page=100)
    return render(request, "governance/audit_log.html", {
        "page": page, "rows": audit_rows(page.object_list), "query": query,
        "actions": audit_actions(), "chain": audit_chain(),
        "filter": event_filter, "current": event_filter.form.cleaned_data if valid else {},
    }, status=200 if valid else 400)


@security_required
def audit_log_export(request):
    """The events the same filters select (every page of them), newest first, as CSV."""
    event_filter = _filtered(request)
    if not event_filter.is_valid():
        messages.error(request, "The export filters are not valid.")
        return redirect("audit-log")
    response = StreamingHttpResponse(_csv_lines(event_filter.qs.iterator(chunk_size=2000)),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="keyledger-audit-{stamp}.csv"'
    return response


def _filtered(request) -> AuditEventFilter:
    return AuditEventFilter(request.GET, queryset=audit_events_visible_to(request.user),
                            request=request)


def _csv_lines(events: Iterable) -> Iterator[str]:
    """Header, then one line per event; every cell made safe for spreadsheets (summaries
    and before/after can carry AWS strings)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(AUDIT_CSV_COLUMNS)
    for event in events:
        writer.writerow([neutralise_formula(value) for value in (
            str(event.pk), event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            event.actor_label, event.action, event.object_type, event.object_id,
            event.summary, audit_json(event.before), audit_json(event.after), event.hash)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
    yield buffer.getvalue()
