"""Owners' and overseers' pages: my keys, ownership gaps (assign many, nudge an owner), keys
of people who left, rotation status, owner assignment."""

from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Person
from core.errors import GovernanceError
from notifications.services import owner_nudge
from reduction.facts import way_out_for_keys

from ..access import (
    can_assign_owner,
    can_manage_key,
    can_nudge_owners,
    key_for,
    leaver_key_for,
    security_or_manager_required,
)
from ..forms import AssignOwnerForm, BulkAssignForm, OwnerEmailForm
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
from ..selectors.team import leaver_keys, leaver_rows
from ..services.keys import owner_assign, owners_assign
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
    """(key, scorecard, needs, way out) per key of ``page``; the ways out in bulk."""
    ways = way_out_for_keys(page.object_list, today=timezone.localdate())
    return [(key, key_scorecard(key.open_findings),
             key_needs(key, can_act=can_manage_key(person, key)), ways[key.pk])
            for key in page]


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


def _gap_codes(request) -> list[str]:
    return [request.GET["gap"]] if request.GET.get("gap") in GAP_CODES else list(GAP_CODES)


@security_or_manager_required
def ownership_gaps(request):
    """Keys without an owner or a current purpose in one table: the security team ticks
    several and assigns them one owner at once; anyone here may nudge a key's owner."""
    person = request.user
    page, query = _page(request, keys_with_gaps(person, _gap_codes(request)))
    nudge = can_nudge_owners(person)  # the page's keys are all in the person's sight
    rows = [(key, [f for f in key.open_findings if f.code in GAP_CODES],
             nudge and key.owner is not None) for key in page]
    return render(request, "governance/workflows/gaps.html", {
        "page": page, "query": query, "rows": rows, "gap": request.GET.get("gap"),
        "gap_codes": GAP_CODES, "can_assign": can_assign_owner(person),
        "people": assignable_owners() if can_assign_owner(person) else [],
        "here": request.get_full_path()})


@require_POST
@security_or_manager_required
def ownership_gaps_assign(request):
    """Assign the ticked gap keys to one person: one audited action (``owners_assign``)."""
    person = request.user
    if not can_assign_owner(person):
        raise PermissionDenied("Only the security team assigns owners.")
    form = BulkAssignForm(request.POST, keys=keys_with_gaps(person))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return _back(request, fallback="ownership-gaps")
    owner, keys = form.cleaned_data["owner"], list(form.cleaned_data["keys"])
    try:
        owners_assign(actor=person, keys=keys, person=owner)
    except GovernanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{owner.email} now owns {len(keys)} key"
                                  f"{'s' if len(keys) != 1 else ''}.")
    return _back(request, fallback="ownership-gaps")


@require_POST
@security_or_manager_required
def key_nudge_owner(request, pk: int):
    """Remind the key's owner now (at most once a day per key: ``owner_nudge``)."""
    key = key_for(request.user, pk)
    try:
        owner_nudge(actor=request.user, key=key)
    except GovernanceError as exc:
        messages.error(request, f"{key}: {exc}")
    else:
        # owner_nudge refuses a key without an owner, which mypy cannot see.
        messages.success(request, f"{cast(Person, key.owner).email} was reminded about {key}.")
    return _back(request, fallback="ownership-gaps")


@security_or_manager_required
def leaver_queue(request):
    """Keys of people who left: the manager's (or, for the security team, every leaver's)
    keys no active person owns, each with who left it, to reassign."""
    person = request.user
    page, query = _page(request, leaver_keys(person))
    return render(request, "governance/workflows/leavers.html", {
        "page": page, "query": query, "rows": leaver_rows(person, page),
        "people": assignable_owners(), "form": OwnerEmailForm(auto_id="id_leaver_%s")})


@require_POST
@security_or_manager_required
def leaver_key_reassign(request, pk: int):
    """Give a key its departed owner left behind to an active person (audited; the audit
    event keeps who had it)."""
    key = leaver_key_for(request.user, pk)
    form = OwnerEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{key}: {form.errors['owner'][0]}")
        return redirect("leaver-keys")
    try:
        owner_assign(actor=request.user, key=key, person=form.cleaned_data["owner"])
    except GovernanceError as exc:
        messages.error(request, f"{key}: {exc}")
    else:
        messages.success(request, f"{form.cleaned_data['owner'].email} now owns {key}.")
    return redirect("leaver-keys")


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


def _back(request, key: AccessKey | None = None, fallback: str = "key-detail"):
    """To the page the form came from (``next``, on this site only), else ``fallback``."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback, pk=key.pk) if key is not None else redirect(fallback)


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
