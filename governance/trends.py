"""The daily snapshot behind trend charts: counts per account and dimension, kept for years.

Taken from the summary columns the evaluation maintains, with a handful of grouped queries,
so the overview never scans every key to draw a trend (the reading side is
``governance.selectors.overview.compliance_trend``; its other charts count keys live, so
that each bar is the inventory list it links to).
"""

from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from .models import AccessKey, DailySnapshot, Finding
from .policy import Severity

Dimension = DailySnapshot.Dimension


@transaction.atomic
def snapshot_take(*, day: date | None = None) -> int:
    """Record (or re-record) ``day``'s counts; prune beyond the retention. Rows written."""
    day = day or timezone.localdate()
    counts: dict[tuple[int, str, str], int] = defaultdict(int)
    active = AccessKey.objects.filter(removed_at__isnull=True, status=AccessKey.Status.ACTIVE)
    for account_id, state, n in (active.values_list("account_id", "compliance")
                                 .annotate(n=Count("id")).values_list("account_id",
                                                                      "compliance", "n")):
        counts[(account_id, Dimension.KEYS, "active")] += n
        counts[(account_id, Dimension.COMPLIANCE, state or "unevaluated")] += n
    open_findings = Finding.objects.filter(
        resolved_at__isnull=True, exception__isnull=True, key__removed_at__isnull=True)
    for account_id, code, n in (open_findings.values_list("key__account_id", "code")
                                .annotate(n=Count("id"))
                                .values_list("key__account_id", "code", "n")):
        # django-stubs types ``key__account_id`` as AwsAccount's CharField ``account_id``; it
        # is the key's foreign-key column, an int.
        counts[(account_id, Dimension.CODE, code)] += n  # type: ignore[index]
    failing = (open_findings.exclude(severity=Severity.LOW.value)
               .values_list("key__account_id", "element")
               .annotate(n=Count("key_id", distinct=True))
               .values_list("key__account_id", "element", "n"))
    for account_id, element, n in failing:
        counts[(account_id, Dimension.ELEMENT, element)] += n  # type: ignore[index]  # as above
    DailySnapshot.objects.filter(day=day).delete()
    DailySnapshot.objects.bulk_create([
        DailySnapshot(day=day, account_id=account_id, dimension=dimension, name=name, count=n)
        for (account_id, dimension, name), n in counts.items()
    ])
    keep_from = day - timedelta(days=settings.KEYLEDGER_SNAPSHOT_RETENTION_DAYS)
    DailySnapshot.objects.filter(day__lt=keep_from).delete()
    return len(counts)
