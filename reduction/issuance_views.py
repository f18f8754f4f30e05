"""Issuance request pages: file (with "Check" to judge the policies without filing), the
lists, one request with its decision, and the keys issued without a request."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from accounts.roles import is_security
from core.errors import GovernanceError
from governance.access import security_required
from governance.forms import NoteForm
from governance.models import AuditEvent
from governance.views.paging import page_of

from .issuance import issuance_approve, issuance_file, issuance_reject, issuance_withdraw
from .issuance_evidence import issuance_evidence
from .issuance_forms import POLICY_EXAMPLE, IssuanceForm
from .issuance_link import keys_issued_without_request
from .issuance_rules import issuance_decision_refusal, issuance_withdraw_refusal
from .models import IssuanceRequest

State = IssuanceRequest.State
DONE = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}
TABS = {"mine": "Mine", "awaiting": "Awaiting my decision", "all": "All"}
# A "Check" shows the judgement of what it judges, not "required" on every empty field.
CHECKED_FIELDS = ("policy_text", "sources_text", "account_id")


def issuance_for(person, pk: int) -> IssuanceRequest:
    """The request ``pk`` if ``person`` may see it (``visible_to``), else 404."""
    requests = IssuanceRequest.objects.visible_to(person).select_related(
        "account", "requested_by__manager", "decided_by", "issued_key")
    return get_object_or_404(requests, pk=pk)


def _requests_for(person, tab: str):
    requests = IssuanceRequest.objects.select_related("account", "requested_by", "decided_by")
    if tab == "awaiting":
        return requests.awaiting_decision_by(person)
    if tab == "all":
        return requests.visible_to(person)
    return requests.filter(requested_by=person)


@login_required
def issuance_new(request):
    """File a request for a new key; ``action=check`` judges the policies and sources only."""
    form = IssuanceForm(request.POST or None,
                        initial={"deactivation_contact": request.user.email})
    checking = request.POST.get("action") == "check"
    if request.method == "POST" and form.is_valid() and not checking:
        try:
            filed = issuance_file(actor=request.user, data=form.issuance_input())
        except GovernanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Issuance request #{filed.pk} filed; it now awaits a "
                                      "decision.")
            return redirect("issuance-detail", pk=filed.pk)
    if checking:
        for name in [n for n in form.errors if n not in CHECKED_FIELDS]:
            del form.errors[name]
    account = form.account() if form.is_bound else None
    evidence = (issuance_evidence(account=account, email=request.user.email,
                                  category=form.cleaned_data.get("category", ""))
                if account is not None else None)
    return render(request, "reduction/issuance_new.html", {
        "form": form, "judged": form.judged, "evidence": evidence, "checking": checking,
        "example": POLICY_EXAMPLE,
    }, status=400 if form.errors else 200)


@login_required
def issuance_list(request):
    """The person's requests, those awaiting their decision, or all (the security team)."""
    person = request.user
    tabs = {name: label for name, label in TABS.items() if name != "all" or is_security(person)}
    default = "awaiting" if is_security(person) else "mine"
    tab = request.GET.get("tab") if request.GET.get("tab") in tabs else default
    page, query = page_of(request, _requests_for(person, tab))
    return render(request, "reduction/issuance_list.html",
                  {"tabs": tabs, "tab": tab, "page": page, "query": query})


def _detail_page(request, issuance: IssuanceRequest, reject_form=None, status: int = 200):
    person = request.user
    pending = issuance.state == State.REQUESTED
    refusal = issuance_decision_refusal(person, issuance)
    return render(request, "reduction/issuance_detail.html", {
        "issuance": issuance, "verdict": issuance.verdict,
        "can_decide": pending and not refusal, "refusal": refusal if pending else "",
        "can_withdraw": pending and not issuance_withdraw_refusal(person, issuance),
        "reject_form": reject_form or NoteForm(auto_id="id_reject_%s"),
        "evidence": issuance_evidence(account=issuance.account,
                                      email=issuance.requested_by.email,
                                      category=issuance.category),
        "events": AuditEvent.objects.filter(object_type="IssuanceRequest",
                                            object_id=str(issuance.pk)).order_by("at", "id"),
    }, status=status)


@login_required
def issuance_detail(request, pk: int):
    """One request and (POST ``action``) approve, reject (with a reason) or withdraw."""
    issuance = issuance_for(request.user, pk)
    if request.method != "POST":
        return _detail_page(request, issuance)
    action = request.POST.get("action", "")
    if action not in DONE:
        messages.error(request, "Choose approve, reject or withdraw.")
        return redirect("issuance-detail", pk=issuance.pk)
    refusal = (issuance_withdraw_refusal if action == "withdraw"
               else issuance_decision_refusal)(request.user, issuance)
    if refusal:
        raise PermissionDenied(refusal)
    form = NoteForm(request.POST, auto_id="id_reject_%s") if action == "reject" else None
    if form is not None and not form.is_valid():
        return _detail_page(request, issuance, reject_form=form, status=400)
    try:
        if action == "approve":
            issuance_approve(actor=request.user, request=issuance,
                             note=request.POST.get("note", "")[:2000])
        elif action == "reject" and form is not None:
            issuance_reject(actor=request.user, request=issuance, note=form.cleaned_data["note"])
        else:
            issuance_withdraw(actor=request.user, request=issuance)
    except GovernanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Request {DONE[action]}.")
    return redirect("issuance-detail", pk=issuance.pk)


@security_required
def unrequested_keys(request):
    """The keys issued without a request: the overview's count, listed."""
    keys = keys_issued_without_request().select_related("account", "user", "owner") \
        .order_by("-created_at", "-id")
    page, query = page_of(request, keys)
    return render(request, "reduction/issuance_unrequested.html", {"page": page, "query": query})
