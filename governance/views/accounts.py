"""AWS accounts for the security team: sync status, add, enable/disable, and "Sync now"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..access import account_for, security_required
from ..forms import AccountForm
from ..selectors import accounts_with_runs, accounts_with_status, sync_running
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
    page, query = page_of(request, accounts_with_status(request.user),
                          per_page=ACCOUNTS_PER_PAGE)
    return render(request, "governance/aws_accounts.html",
                  {"rows": accounts_with_runs(page.object_list), "form": form, "page": page,
                   "query": query}, status=400 if form.errors else 200)


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
    account = account_for(request.user, pk)
    if sync_running(account):
        messages.info(request, f"A sync of {account} is already running.")
    else:
        account_sync_request(actor=request.user, account=account)
        messages.success(request, f"Sync of {account} requested.")
    if request.headers.get("HX-Request") == "true":
        return aws_account_progress(request, pk)
    return redirect("aws-accounts")


@security_required
def aws_account_progress(request, pk: int):
    """One account's row, re-polled by htmx every second while a sync runs."""
    account = account_for(request.user, pk, accounts=accounts_with_status(request.user))
    [(account, run)] = accounts_with_runs([account])
    return render(request, "governance/_aws_account_row.html", {"account": account, "run": run})
