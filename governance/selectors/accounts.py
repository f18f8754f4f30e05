"""AWS accounts as the security team's accounts page shows them: sync state and key counts."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from ..models import AccessKey, AwsAccount, SyncRun


def accounts_with_status(person) -> QuerySet:
    """The accounts ``person`` may see, each with ``last_run_id`` (its latest sync run) and
    ``active_keys`` (its active keys still in AWS), in one query however many accounts.

    The key count is a correlated subquery, not a join and GROUP BY, so that Postgres counts
    only the accounts of the page shown (index ``account, status``), never all 100,000 keys.
    """
    latest = SyncRun.objects.filter(account=OuterRef("pk")).order_by("-started_at")
    active = (AccessKey.objects.filter(account=OuterRef("pk"), removed_at__isnull=True,
                                       status=AccessKey.Status.ACTIVE)
              .order_by().values("account").annotate(n=Count("pk")).values("n"))
    return AwsAccount.objects.visible_to(person).annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        active_keys=Coalesce(Subquery(active, output_field=IntegerField()), 0),
    )


def not_synced_recently(accounts: QuerySet, *, now: datetime) -> QuerySet:
    """The enabled ones of ``accounts`` without a successful sync in the last
    ``KEYLEDGER_STALE_AFTER_HOURS``: the overview's tile and the accounts page's filter."""
    stale_before = now - timedelta(hours=settings.KEYLEDGER_STALE_AFTER_HOURS)
    return accounts.filter(enabled=True).filter(
        Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=stale_before))


def accounts_with_runs(accounts) -> list[tuple[AwsAccount, SyncRun | None]]:
    """(account, its latest run or None) for each of ``accounts`` (from
    ``accounts_with_status``), with one query for all the runs."""
    accounts = list(accounts)
    runs = SyncRun.objects.in_bulk([a.last_run_id for a in accounts if a.last_run_id])
    return [(a, runs.get(a.last_run_id)) for a in accounts]


def sync_running(account: AwsAccount) -> bool:
    """Whether a sync of ``account`` is running now."""
    return SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING).exists()
