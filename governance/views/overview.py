"""The overview: the state of every key the person can see, at a glance, with trends."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.shortcuts import render
from django.utils import timezone

from ..access import is_security
from ..models import AccessKey, AwsAccount, DailySnapshot, ExceptionRequest, Finding, SyncRun
from ..policy import Element, Severity

AGE_EDGES = (0, 30, 60, 76, 90, 120, 180, 365)


def _tiles(keys, person, now):
    active = keys.filter(status=AccessKey.Status.ACTIVE)
    counts = active.aggregate(
        total=Count("id"), compliant=Count("id", filter=Q(compliance="compliant")),
        excepted=Count("id", filter=Q(compliance="excepted")),
        overdue=Count("id", filter=Q(open_codes__contains="ROTATION_OVERDUE")),
        gaps=Count("id", filter=Q(open_codes__contains="NO_OWNER")
                   | Q(open_codes__contains="NO_PURPOSE")),
    )
    total = counts["total"] or 0
    counts["percent_compliant"] = round(100 * counts["compliant"] / total) if total else None
    counts["pending"] = ExceptionRequest.objects.awaiting_decision_by(person).count()
    if is_security(person):
        stale_before = now - timedelta(hours=settings.KEYLEDGER_STALE_AFTER_HOURS)
        counts["bad_accounts"] = AwsAccount.objects.filter(enabled=True).filter(
            Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=stale_before)).count()
    return counts


def _age_histogram(keys, now):
    edges = AGE_EDGES
    buckets = {}
    for low, high in zip(edges, edges[1:] + (None,), strict=True):
        label = f"{low + 1 if low else 0}-{high}" if high else f"{low + 1}+"
        cond = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            cond &= Q(created_at__gt=now - timedelta(days=high + 1))
        buckets[label] = Count("id", filter=cond)
    counts = keys.filter(status=AccessKey.Status.ACTIVE).aggregate(**buckets)
    return {
        "type": "bar",
        "data": {"labels": [f"{k} d" for k in counts], "datasets": [{
            "label": "active keys by age (rotate by 90 days)", "data": list(counts.values()),
            "backgroundColor": ["#90caf9" if i < 4 else "#e57373"
                                for i in range(len(counts))]}]},
    }


def _findings_by(keys, field: str, labels: dict | None = None):
    rows = (Finding.objects.filter(key__in=keys, resolved_at__isnull=True,
                                   exception__isnull=True)
            .exclude(severity=Severity.LOW.value)
            .values_list(field).annotate(n=Count("id")).order_by(field))
    names = [labels.get(k, k) if labels else k for k, _ in rows]
    return {"type": "bar", "options": {"indexAxis": "y"},
            "data": {"labels": names, "datasets": [{"label": "open findings above low",
                                                    "data": [n for _, n in rows]}]}}


def _trend(days: int = 90):
    """Keys per compliance state per day, summed over accounts, from the daily snapshots."""
    since = timezone.localdate() - timedelta(days=days)
    per_day: dict[str, dict[str, int]] = {}
    rows = (DailySnapshot.objects.filter(day__gte=since, dimension="compliance")
            .values_list("day", "name").annotate(total=Sum("count")).order_by("day"))
    for day, name, total in rows:
        per_day.setdefault(day.isoformat(), {})[name] = total
    labels = sorted(per_day)
    return {"type": "line", "data": {"labels": labels, "datasets": [
        {"label": name.replace("_", " "), "data": [per_day[d].get(name, 0) for d in labels]}
        for name in ("compliant", "excepted", "non_compliant")]}}


@login_required
def overview(request):
    person, now = request.user, timezone.now()
    keys = AccessKey.objects.visible_to(person).filter(removed_at__isnull=True)
    security = is_security(person)
    account_names = dict(AwsAccount.objects.values_list("account_id", "name")) if security else {}
    return render(request, "governance/overview.html", {
        "tiles": _tiles(keys, person, now),
        "age_chart": _age_histogram(keys, now),
        "account_chart": _findings_by(keys, "key__account__account_id", account_names),
        "element_chart": _findings_by(keys, "element",
                                      {e.value: e.value.title() for e in Element}),
        "trend_chart": _trend() if security else None,
        "failed_runs": SyncRun.objects.filter(status=SyncRun.Status.FAILED).select_related(
            "account")[:5] if security else [],
    })
