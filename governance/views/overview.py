"""The overview: the state of every key the person can see, at a glance, with trends."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min, Q
from django.shortcuts import render
from django.utils import timezone

from ..access import is_security
from ..models import AccessKey, AwsAccount, ExceptionRequest, Finding, SyncRun
from ..policy import Element, Severity
from ..selectors import rotation_totals
from ..trends import compliance_trend, fresh_snapshot_day, open_findings_above_low
from ..windows import AGE_WINDOWS

EXPOSED_LISTED = 20  # exposed keys named at the top; the inventory's filter has them all


def _age_buckets(now) -> dict[str, Count]:
    """Filtered counts of active keys per age window (the age filter's), labelled like the
    chart; the windows do not overlap, so a key is counted once."""
    return {f"age_{window.label}": Count("id", filter=window.q("created_at", now))
            for window in AGE_WINDOWS}


def _key_counts(keys, person, now):
    """The tiles and the age histogram, from one pass over the active keys; the rotation
    tile from the open findings, as the rotation page counts them."""
    counts = keys.filter(status=AccessKey.Status.ACTIVE).aggregate(
        total=Count("id"), compliant=Count("id", filter=Q(compliance="compliant")),
        excepted=Count("id", filter=Q(compliance="excepted")),
        gaps=Count("id", filter=Q(open_codes__contains="NO_OWNER")
                   | Q(open_codes__contains="NO_PURPOSE")),
        **_age_buckets(now),
    )
    ages = {name.removeprefix("age_"): counts.pop(name) for name in list(counts)
            if name.startswith("age_")}
    total = counts["total"] or 0
    counts["percent_compliant"] = round(100 * counts["compliant"] / total) if total else None
    rotation = rotation_totals(keys)  # what the rotation page and the inventory filter count
    counts["overdue"], counts["overdue_excepted"] = rotation["overdue"], rotation["excepted"]
    counts["pending"] = ExceptionRequest.objects.awaiting_decision_by(person).count()
    if is_security(person):
        stale_before = now - timedelta(hours=settings.KEYLEDGER_STALE_AFTER_HOURS)
        counts["bad_accounts"] = AwsAccount.objects.filter(enabled=True).filter(
            Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=stale_before)).count()
    return counts, _age_chart(ages)


def _age_chart(ages: dict[str, int]):
    return {
        "type": "bar",
        "data": {"labels": [f"{k} d" for k in ages], "datasets": [{
            "label": "active keys by age (rotate by 90 days)", "data": list(ages.values()),
            "backgroundColor": ["#90caf9" if window.last is not None
                                and window.last <= settings.KEYLEDGER_ROTATION_MAX_DAYS
                                else "#e57373" for window in AGE_WINDOWS]}]},
    }


def _exposed_keys(keys) -> tuple[list, bool]:
    """Keys AWS found in public (open ``KEY_EXPOSED``), first seen first, each with
    ``exposed_since``; and whether there are more than are listed. One query."""
    rows = list(keys.filter(findings__code="KEY_EXPOSED", findings__resolved_at__isnull=True)
                .annotate(exposed_since=Min("findings__opened_at"))
                .select_related("account", "user").order_by("exposed_since", "pk")
                [:EXPOSED_LISTED + 1])
    return rows[:EXPOSED_LISTED], len(rows) > EXPOSED_LISTED


def _findings_by(keys, field: str):
    """Live counts of open findings above low per ``field``, for what the person can see."""
    return list(Finding.objects.filter(key__in=keys, resolved_at__isnull=True,
                                       exception__isnull=True)
                .exclude(severity=Severity.LOW.value)
                .values_list(field).annotate(n=Count("id")).order_by(field))


def _bar_chart(rows, labels: dict | None = None):
    names = [labels.get(k, k) if labels else k for k, _ in rows]
    return {"type": "bar", "options": {"indexAxis": "y"},
            "data": {"labels": names, "datasets": [{"label": "open findings above low",
                                                    "data": [n for _, n in rows]}]}}


def _trend(days: int = 90):
    """Keys per compliance state per day, summed over accounts, from the daily snapshots."""
    per_day = compliance_trend(days)
    labels = sorted(per_day)
    return {"type": "line", "data": {"labels": labels, "datasets": [
        {"label": name.replace("_", " "), "data": [per_day[d].get(name, 0) for d in labels]}
        for name in ("compliant", "excepted", "non_compliant")]}}


@login_required
def overview(request):
    """Tiles live; the security team's finding charts from a recent daily snapshot.

    The security team sees every key, so its charts would join every open finding to its
    key on each visit; the day's snapshot holds the same counts per account and code.
    Others see few keys and get live counts.
    """
    person, now = request.user, timezone.now()
    keys = AccessKey.objects.visible_to(person).filter(removed_at__isnull=True)
    security = is_security(person)
    tiles, age_chart = _key_counts(keys, person, now)
    exposed, more_exposed = _exposed_keys(keys)
    snapshot_day = fresh_snapshot_day() if security else None
    if snapshot_day is not None:
        by_account = open_findings_above_low(snapshot_day, "account")
        by_element = open_findings_above_low(snapshot_day, "element")
    else:
        by_account = _findings_by(keys, "key__account__account_id")
        by_element = _findings_by(keys, "element")
    account_names = dict(AwsAccount.objects.filter(
        account_id__in=[a for a, _ in by_account]).values_list("account_id", "name")
    ) if security else {}
    return render(request, "governance/overview.html", {
        "exposed_keys": exposed,
        "more_exposed": more_exposed,
        "tiles": tiles,
        "age_chart": age_chart,
        "account_chart": _bar_chart(by_account, account_names),
        "element_chart": _bar_chart(by_element, {e.value: e.value.title() for e in Element}),
        "charts_day": snapshot_day,
        "trend_chart": _trend() if security else None,
        "failed_runs": SyncRun.objects.filter(status=SyncRun.Status.FAILED).select_related(
            "account")[:5] if security else [],
    })
