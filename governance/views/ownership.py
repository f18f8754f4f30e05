"""Owners' and overseers' pages: my keys, ownership gaps, rotation status, owner assignment."""

from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import GovernanceError

from ..access import can_assign_owner, can_manage_key, key_for, security_or_manager_required
from ..forms import AssignOwnerForm
from ..models import AccessKey
from ..needs import key_needs
from ..selectors import (
    GAP_CODES,
    assignable_owners,
    key_scorecard,
    keys_of_reports,
    keys_owned_by,
    keys_with_gaps,
    rotation_by_account,
    rotation_listing,
    rotation_totals,
)
from ..services.keys import owner_assign
from ..untrusted import query_id
from .paging import page_of


@dataclass(frozen=True)
class RotationRow:
    key: AccessKey  # from ``rotation_listing``: with ``rotation_state`` and ``excepted_until``
    age: int
    overdue_by: int  # days past the limit; 0 or less: not overdue yet

    @property
    def due_in(self) -> int:
        return -self.overdue_by

    @property
    def state(self) -> str:
        """``overdue``, ``excepted`` (overdue, but an approved exception covers it) or
        ``due``, as the key's stored findings say."""
        return self.key.rotation_state


def _page(request, queryset, param: str = "page"):
    """These pages list 100 rows a page."""
    return page_of(request, queryset, per_page=100, param=param)


def _key_rows(page, person):
    return [(key, key_scorecard(key.open_findings),
             key_needs(key, can_act=can_manage_key(person, key))) for key in page]


@login_required
def my_keys(request):
    """The keys the person owns and, for managers, their reports' keys, with what each needs."""
    person = request.user
    mine, mine_query = _page(request, keys_owned_by(person))
    context = {"mine": mine, "mine_query": mine_query, "mine_rows": _key_rows(mine, person)}
    if person.is_manager:
        reports, reports_query = _page(request, keys_of_reports(person), "reports_page")
        context.update(show_reports=True, reports=reports, reports_query=reports_query,
                       reports_rows=_key_rows(reports, person))
    return render(request, "governance/workflows/my_keys.html", context)


def _grouped(keys):
    """[(account, [(iam_user, [(key, gap findings)])])] in the order given."""
    rows = [(key, [f for f in key.open_findings if f.code in GAP_CODES]) for key in keys]
    return [(account, [(user, list(user_rows)) for user, user_rows
                       in groupby(account_rows, key=lambda row: row[0].user)])
            for account, account_rows in groupby(rows, key=lambda row: row[0].account)]


@security_or_manager_required
def ownership_gaps(request):
    """Keys without an owner or a current purpose, by account and IAM user."""
    person = request.user
    codes = [request.GET["gap"]] if request.GET.get("gap") in GAP_CODES else list(GAP_CODES)
    page, query = _page(request, keys_with_gaps(person, codes))
    can_assign = can_assign_owner(person)
    people = assignable_owners() if can_assign else []
    return render(request, "governance/workflows/gaps.html", {
        "page": page, "query": query, "groups": _grouped(page), "gap": request.GET.get("gap"),
        "gap_codes": GAP_CODES, "can_assign": can_assign, "people": people,
        "here": request.get_full_path()})


@security_or_manager_required
def rotation(request):
    """Per account, active keys overdue / excepted / due soon / fine, as their open findings
    say, and the keys to rotate, oldest first."""
    person = request.user
    limit = settings.KEYLEDGER_ROTATION_MAX_DAYS
    keys = AccessKey.objects.visible_to(person).filter(removed_at__isnull=True)
    listed = rotation_listing(keys)
    account = query_id(request, "account")
    if account is not None:
        listed = listed.filter(account_id=account)
    page, query = _page(request, listed)
    rows = [RotationRow(key, key.age_days, key.age_days - limit) for key in page]
    accounts = rotation_by_account(keys)
    return render(request, "governance/workflows/rotation.html", {
        "accounts": accounts, "totals": rotation_totals(accounts), "page": page,
        "query": query, "rows": rows, "limit": limit,
        "due_after": limit - settings.KEYLEDGER_ROTATION_WARNING_DAYS, "account": account})


def _back(request, key: AccessKey):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return redirect(target)
    return redirect("key-detail", pk=key.pk)


@login_required
def key_assign_owner(request, pk: int):
    """The security team names a key's owner (POST only); back to where they came from."""
    if request.method != "POST":
        return redirect("key-detail", pk=pk)
    if not can_assign_owner(request.user):
        raise PermissionDenied("Only the security team assigns owners.")
    key = key_for(request.user, pk)
    form = AssignOwnerForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{key}: {form.errors['person'][0]}")
        return _back(request, key)
    try:
        owner_assign(actor=request.user, key=key, person=form.cleaned_data["person"])
    except GovernanceError as exc:
        messages.error(request, f"{key}: {exc}")
    else:
        messages.success(request, f"{form.cleaned_data['person'].email} now owns {key}.")
    return _back(request, key)
