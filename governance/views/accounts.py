"""AWS accounts for the security team: sync status, add, enable/disable, and "Sync now"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..access import account_for, security_required
from ..forms import AccountForm
from ..models import AccessKey, AwsAccount, SyncRun
from ..services.accounts import account_add, account_set_enabled, account_sync_request
from .paging import page_of

ACCOUNTS_PER_PAGE = 100


def _with_status(accounts):
    """Accounts with their latest run and key counts, in a fixed number of queries.

    The key count is a correlated subquery, not a join and GROUP BY, so that Postgres counts
    only the accounts of the page shown (index ``account, status``), never all 100,000 keys.
    """
    latest = SyncRun.objects.filter(account=OuterRef("pk")).order_by("-started_at")
    active = (AccessKey.objects.filter(account=OuterRef("pk"), removed_at__isnull=True,
                                       status=AccessKey.Status.ACTIVE)
              .order_by().values("account").annotate(n=Count("pk")).values("n"))
    return accounts.annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        active_keys=Coalesce(Subquery(active, output_field=IntegerField()), 0),
    )


def _rows(accounts):
    accounts = list(accounts)
    runs = SyncRun.objects.in_bulk([a.last_run_id for a in accounts if a.last_run_id])
    return [(a, runs.get(a.last_run_id)) for a in accounts]


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
    page, query = page_of(request, _with_status(AwsAccount.objects.all()),
                          per_page=ACCOUNTS_PER_PAGE)
    rows = _rows(page.object_list)
    return render(request, "governance/aws_accounts.html",
                  {"rows": rows, "form": form, "page": page, "query": query},
                  status=400 if form.errors else 200)


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
    if SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING).exists():
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
    account = account_for(request.user, pk, accounts=_with_status(AwsAccount.objects.all()))
    [(account, run)] = _rows([account])
    return render(request, "governance/_aws_account_row.html", {"account": account, "run": run})
