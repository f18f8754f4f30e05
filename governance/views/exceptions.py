"""Exception requests: ask to waive a finding, list requests by tab, and decide on one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from core.errors import GovernanceError, NotAllowed

from ..access import (
    can_manage_key,
    decision_refusal,
    exception_action_refusal,
    exception_for,
    is_security_or_manager,
    key_for,
)
from ..filters import ExceptionFilter
from ..forms import ApproveForm, ExceptionRequestForm, NoteForm
from ..models import ExceptionRequest
from ..policy import RULES
from ..selectors import exception_page, exception_requests_for, waivable_findings
from ..services.exceptions import (
    exception_approve,
    exception_reject,
    exception_request,
    exception_revoke,
    exception_withdraw,
)
from .paging import page_of

Status = ExceptionRequest.Status
TABS = {"awaiting": "Awaiting my decision", "mine": "Mine", "all": "All visible"}
DONE = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn",
        "revoke": "revoked"}
ACTION_STATE = {"approve": Status.REQUESTED, "reject": Status.REQUESTED,
                "withdraw": Status.REQUESTED, "revoke": Status.APPROVED}
# Findings that count against compliance and are never waived, only fixed (named on the form).
NEVER_WAIVED = tuple(code for code, rule in RULES.items()
                     if not rule.waivable and rule.severity.above_low)


@login_required
def exception_new(request, pk: int):
    """The owner (or security) asks to waive one finding until a date."""
    key = key_for(request.user, pk)
    if not can_manage_key(request.user, key):
        raise PermissionDenied("Only the key's owner or the security team can ask for this.")
    findings = waivable_findings(key)
    asked = request.GET.get("code", "")[:40]
    form = ExceptionRequestForm(request.POST or None, findings=findings, initial={"code": asked})
    if request.method == "POST" and form.is_valid():
        try:
            exception = exception_request(actor=request.user, key=key, **form.cleaned_data)
        except GovernanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Exception for {exception.code} on {key} requested; "
                                      "it now awaits a decision.")
            return redirect("exception-detail", pk=exception.pk)
    return render(request, "governance/workflows/exception_new.html", {
        "key": key, "form": form, "findings": findings, "never_waived": NEVER_WAIVED,
        "unavailable": asked if asked and asked not in {f.code for f in findings} else "",
    }, status=400 if form.errors else 200)


@login_required
def exception_list(request):
    """Requests awaiting the person's decision, their own, or every one they may see (the
    ``tab``), filtered as the API's list is (``ExceptionFilter``: status, key, code, ...)."""
    person = request.user
    default = "awaiting" if is_security_or_manager(person) else "mine"
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else default
    exception_filter = ExceptionFilter(
        request.GET, queryset=exception_requests_for(person, tab), request=request)
    valid = exception_filter.is_valid()
    page, query = page_of(
        request, exception_filter.qs if valid else exception_filter.queryset.none())
    return render(request, "governance/workflows/exception_list.html", {
        "tabs": TABS, "tab": tab, "filter": exception_filter, "statuses": Status.choices,
        "status": exception_filter.form.cleaned_data.get("status", "") if valid else "",
        "page": page, "query": query}, status=200 if valid else 400)


def _action_form(action: str, exception: ExceptionRequest, data=None):
    """The form an action takes (None for withdraw), with ids unique on the page."""
    auto_id = f"id_{action}_%s"
    if action == "approve":
        return ApproveForm(data, exception=exception, auto_id=auto_id)
    if action in ("reject", "revoke"):
        return NoteForm(data, auto_id=auto_id)
    return None


def _perform(action: str, actor, exception: ExceptionRequest, data: dict) -> None:
    if action == "approve":
        exception_approve(actor=actor, exception=exception, **data)
    elif action == "reject":
        exception_reject(actor=actor, exception=exception, note=data["note"])
    elif action == "revoke":
        exception_revoke(actor=actor, exception=exception, note=data["note"])
    else:
        exception_withdraw(actor=actor, exception=exception)


def _available_actions(person, exception: ExceptionRequest, bound: dict) -> dict:
    """action -> its form (True when it takes none), for the actions open to the person now."""
    return {action: bound.get(action) or _action_form(action, exception) or True
            for action, state in ACTION_STATE.items()
            if exception.status == state
            and not exception_action_refusal(person, exception, action)}


def _detail_page(request, exception: ExceptionRequest, bound: dict, status: int = 200):
    person = request.user
    shown = exception_page(exception)
    return render(request, "governance/workflows/exception_detail.html", {
        "exception": exception, "rule": RULES.get(exception.code),
        "finding": shown.finding, "events": shown.events,
        "other_findings": shown.other_findings, "permissions": shown.permissions,
        "actions": _available_actions(person, exception, bound),
        "own_request": person.pk == exception.requested_by_id,
        "refusal": decision_refusal(person, exception),
    }, status=status)


@login_required
def exception_detail(request, pk: int):
    """One request, its audit trail, and (POST ``action``) approve/reject/withdraw/revoke."""
    exception = exception_for(request.user, pk)
    if request.method != "POST":
        return _detail_page(request, exception, {})
    action = request.POST.get("action", "")
    if action not in DONE:
        messages.error(request, "Choose approve, reject, withdraw or revoke.")
        return redirect("exception-detail", pk=exception.pk)
    if exception_action_refusal(request.user, exception, action):
        raise NotAllowed(f"You may not {action} this request.")
    form = _action_form(action, exception, request.POST)
    if form is not None and not form.is_valid():
        if exception.status != ACTION_STATE[action]:
            messages.error(request, f"This request is {exception.get_status_display().lower()}.")
            return redirect("exception-detail", pk=exception.pk)
        return _detail_page(request, exception, {action: form}, status=400)
    try:
        _perform(action, request.user, exception, form.cleaned_data if form else {})
    except GovernanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Exception {DONE[action]}.")
    return redirect("exception-detail", pk=exception.pk)
