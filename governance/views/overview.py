"""The overview: the state of every key the person can see, at a glance, with trends."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from ..policy import Element
from ..selectors import overview_of
from ..windows import AGE_WINDOWS


def _age_chart(ages: dict[str, int]):
    return {
        "type": "bar",
        "data": {"labels": [f"{k} d" for k in ages], "datasets": [{
            "label": "active keys by age (rotate by 90 days)", "data": list(ages.values()),
            "backgroundColor": ["#90caf9" if window.last is not None
                                and window.last <= settings.KEYLEDGER_ROTATION_MAX_DAYS
                                else "#e57373" for window in AGE_WINDOWS]}]},
    }


def _bar_chart(rows, labels: dict | None = None):
    names = [labels.get(k, k) if labels else k for k, _ in rows]
    return {"type": "bar", "options": {"indexAxis": "y"},
            "data": {"labels": names, "datasets": [{"label": "open findings above low",
                                                    "data": [n for _, n in rows]}]}}


def _trend_chart(per_day: dict[str, dict[str, int]]):
    """Keys per compliance state per day, summed over accounts."""
    labels = sorted(per_day)
    return {"type": "line", "data": {"labels": labels, "datasets": [
        {"label": name.replace("_", " "), "data": [per_day[d].get(name, 0) for d in labels]}
        for name in ("compliant", "excepted", "non_compliant")]}}


@login_required
def overview(request):
    """Tiles live; the security team's finding charts from a recent daily snapshot
    (``governance.selectors.overview``)."""
    shown = overview_of(request.user, now=timezone.now())
    return render(request, "governance/overview.html", {
        "exposed_keys": shown.exposed_keys,
        "more_exposed": shown.more_exposed,
        "tiles": shown.tiles,
        "age_chart": _age_chart(shown.ages),
        "account_chart": _bar_chart(shown.findings_by_account, shown.account_names),
        "element_chart": _bar_chart(shown.findings_by_element,
                                    {e.value: e.value.title() for e in Element}),
        "charts_day": shown.charts_day,
        "trend_chart": _trend_chart(shown.trend) if shown.trend is not None else None,
        "failed_runs": shown.failed_runs,
    })
