"""AWS accounts for the security team: sync status, add, enable/disable, and "Sync now"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ..access import account_for, security_required
from ..forms import AccountForm
from ..selectors import (
    accounts_with_runs,
    accounts_with_status,
    not_synced_recently,
    sync_running,
)
from ..services.accounts import account_add, account_set_enabled, account_sync_request
from .paging import page_of

ACCOUNTS_PER_PAGE = 100


@security_required
def aws_accounts(request):
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_add(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Added {account}. Sync it to read its keys.")
            return redirect("aws-accounts")
    accounts = accounts_with_status(request.user)
    stale = request.GET.get("stale") == "true"  # the overview's "not synced recently"
    if stale:
        accounts = not_synced_recently(accounts, now=timezone.now())
    page, query = page_of(request, accounts, per_page=ACCOUNTS_PER_PAGE)
    return render(request, "governance/aws_accounts.html",
                  {"rows": accounts_with_runs(page.object_list), "form": form, "page": page,
                   "query": query, "stale": stale}, status=400 if form.errors else 200)


@security_required
@require_POST
def aws_account_toggle(request, pk: int):
    account = account_for(request.user, pk)
    account_set_enabled(actor=request.user, account=account, enabled=not account.enabled)
    messages.success(request, f"{account} {'enabled' if account.enabled else 'disabled'}.")
    return redirect("aws-accounts")


@security_required
@require_POST
def aws_account_sync(request, pk: int):
    """Ask for a sync now. The confirmation is shown where it was asked: in the row htmx
    swaps in (with the notice above the table), or after the redirect to this page."""
    account = account_for(request.user, pk, accounts=accounts_with_status(request.user))
    running = sync_running(account)
    if running:
        notice = f"A sync of {account} is already running."
    else:
        account_sync_request(actor=request.user, account=account)
        notice = f"Sync of {account} requested: its row shows the progress."
    if request.headers.get("HX-Request") == "true":
        last_run = getattr(account, "last_run_id", None)  # annotated by accounts_with_status
        return _account_row(request, pk, after=None if running else last_run or 0,
                            notice=notice)
    (messages.info if running else messages.success)(request, notice)
    return redirect("aws-accounts")


@security_required
def aws_account_progress(request, pk: int):
    """One account's row, re-polled by htmx every second while a sync runs, or, with
    ``after`` (the run before "Sync now"), until a newer run has started."""
    after = request.GET.get("after", "")
    if after and not (after.isascii() and after.isdigit() and len(after) < 19):
        return HttpResponseBadRequest("after: a sync run id (digits) is expected.")
    return _account_row(request, pk, after=int(after) if after else None)


def _account_row(request, pk: int, *, after: int | None, notice: str = ""):
    account = account_for(request.user, pk, accounts=accounts_with_status(request.user))
    [(account, run)] = accounts_with_runs([account])
    waiting = after is not None and (run is None or run.pk <= after)
    return render(request, "governance/_aws_account_row.html", {
        "account": account, "run": run, "waiting": waiting, "after": after, "notice": notice})
