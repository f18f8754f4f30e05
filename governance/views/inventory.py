"""The inventory of keys, its CSV export, the key-id lookup and the key detail page."""

import re
from html import escape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from core.errors import GovernanceError
from evidence.summary import key_usage
from reduction.issuance_link import issuance_of_key
from reduction.panel import way_out_context

from ..access import (
    can_deactivate,
    can_justify_key,
    can_place_unknown_keys,
    is_security,
    key_for,
)
from ..aws.errors import CollectionError
from ..aws.responder import account_of_key
from ..exports import csv_lines, key_export_rows
from ..filters import DEFAULT_SORT, KeyFilter
from ..models import AccessKey
from ..selectors import (
    account_choices,
    account_with_id,
    key_page,
    key_scorecard,
    key_with_id,
    keys_for_listing,
    listing_page,
)
from ..selectors.incident import INCIDENT_CODES
from ..services.incident import key_deactivate, responder_role_arn
from .paging import CappedCountPaginator, LeadingFieldSeek, page_of

KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")


@login_required
def inventory(request):
    """Every key the person may see, filtered, searched, sorted and paginated."""
    key_filter = KeyFilter(request.GET, queryset=AccessKey.objects.visible_to(request.user),
                           request=request)
    keys = key_filter.qs if key_filter.is_valid() else AccessKey.objects.none()
    ids = keys.values_list("pk", flat=True)
    chosen_sort = key_filter.form.cleaned_data.get("sort") if key_filter.is_valid() else None
    sort = chosen_sort or DEFAULT_SORT
    if sort == "account":  # deep pages seek by account name (the default risk order reads
        ids = LeadingFieldSeek(ids, "account__name")  # its index and needs no seek)
    page, query = page_of(request, ids, paginator_class=CappedCountPaginator)
    rows = [(key, key_scorecard(key.open_findings)) for key in listing_page(page)]
    partial = request.headers.get("HX-Request") == "true"
    template = "governance/_inventory_rows.html" if partial else "governance/inventory.html"
    filtered = request.GET.copy()
    filtered.pop("page", None)
    context = {"filter": key_filter, "page": page, "rows": rows, "query": query,
               "export_query": request.GET.urlencode(), "chosen_sort": chosen_sort,
               "sort_links": _sort_links(filtered, sort),
               "filtered": any(v for k, v in filtered.items() if k != "sort")}
    if not partial:
        context["account_options"] = _account_options(account_choices(request.user),
                                                      request.GET.get("account", ""))
    return render(request, template, context, status=200 if key_filter.is_valid() else 400)


SORTABLE = ("risk", "account", "user", "key", "age", "last_used", "compliance")


def _sort_links(query, sort: str) -> dict[str, dict[str, str]]:
    """Per sortable column, the query string that sorts by it (the other way round when it
    is the current order) with the filters kept, and its ``aria-sort`` state."""
    links = {}
    for column in SORTABLE:
        target = f"-{column}" if sort == column else column
        params = query.copy()
        params["sort"] = target
        state = "descending" if sort == f"-{column}" else "ascending" if sort == column \
            else "none"
        links[column] = {"query": params.urlencode(), "state": state,
                         "arrow": {"ascending": " ↓", "descending": " ↑"}.get(state, "")}
    return links


def _account_options(options, selected: str):
    """The account filter's ``<option>`` elements, escaped, the chosen one selected.

    Built in one pass here because at 1,000 accounts the select widget's per-option
    templates cost ~100 ms and even a plain template loop ~30 ms of every inventory page.
    """
    # Every interpolated value is escaped (names come from AWS); pk is an integer.
    return mark_safe("".join(  # noqa: S308
        f'<option value="{pk}"{" selected" if str(pk) == selected else ""}>'
        f"{escape(name)} ({escape(account_id)})</option>" for pk, name, account_id in options))


@login_required
def inventory_export(request):
    """Exactly the filtered rows, as the CSV contract of DESIGN.md, streamed."""
    key_filter = KeyFilter(request.GET, queryset=AccessKey.objects.visible_to(request.user),
                           request=request)
    if not key_filter.is_valid():
        messages.error(request, "The export filters are not valid.")
        return redirect("inventory")
    rows = key_export_rows(keys_for_listing(key_filter.qs).prefetch_related(None))
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="keyledger-keys-{stamp}.csv"'
    return response


@login_required
def key_lookup(request):
    """Open a key's page from its id (incident response); unknown ids say so plainly."""
    key_id = request.GET.get("key_id", "").strip().upper()
    if not KEY_ID.match(key_id):
        messages.error(request, "Enter an access key id such as AKIAIOSFODNN7EXAMPLE.")
        return redirect("inventory")
    key = key_with_id(request.user, key_id)
    if key is not None:  # a responder looking up an id is in an incident: its view first
        return redirect("key-incident" if is_security(request.user) else "key-detail",
                        pk=key.pk)
    if can_place_unknown_keys(request.user):
        messages.error(request, _unknown_key_message(request.user, key_id))
    else:
        messages.error(request, f"No key {key_id} among the keys you can see.")
    return redirect("inventory")


def _unknown_key_message(person, key_id: str) -> str:
    """Where an id Keyledger has not seen comes from (STS GetAccessKeyInfo)."""
    try:
        account_id = account_of_key(key_id)
    except CollectionError as exc:
        return f"{key_id} is not in the inventory and AWS could not place it: {exc.message}"
    account = account_with_id(person, account_id)
    where = f"{account.name} ({account_id})" if account else f"{account_id}, an account " \
        "Keyledger does not read"
    return f"{key_id} is not in the inventory; AWS says it belongs to account {where}."


@login_required
@require_POST
def key_deactivate_view(request, pk: int):
    """Security stops a key in AWS now (confirmation and reason required)."""
    key = key_for(request.user, pk)
    try:
        key_deactivate(actor=request.user, key=key, reason=request.POST.get("reason", ""))
    except GovernanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{key} is now Inactive in AWS.")
    back = "key-incident" if request.POST.get("next") == "incident" else "key-detail"
    return redirect(back, pk=key.pk)


@login_required
def key_detail(request, pk: int):
    """The key: its severity, what makes it risky, its use, who can act; then the details."""
    key = key_for(request.user, pk)
    shown = key_page(key)
    return render(request, "governance/key_detail.html", {
        "key": key,
        "can_deactivate": can_deactivate(request.user, key),
        "can_justify": can_justify_key(request.user, key),
        "open_findings": shown.open_worst_first,
        "status_since": shown.status_since(key),
        "exposed_on": shown.exposed_on,
        "scorecard": key_scorecard(shown.open_findings),
        "findings": shown.findings,
        "registration": shown.registration,
        "exceptions": shown.exceptions,
        "events": shown.events,
        "audit": shown.audit,
        "last_run": shown.last_run,
        "tags": sorted((key.user.tags or {}).items()),
        "responder_ready": bool(responder_role_arn(key.account.account_id)),
        "offer_incident": is_security(request.user) and any(
            f.code in INCIDENT_CODES for f in shown.open_findings),
        "usage": key_usage(key, today=timezone.now().date()),
        **way_out_context(request, key),  # "Your way out" (reduction/panel.py)
        "issuance": issuance_of_key(key),  # the request it was issued from (issue 17)
    })
