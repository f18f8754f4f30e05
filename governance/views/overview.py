"""The overview: what is most dangerous first (keys by severity, the newest critical and high
findings), then the tiles and the charts; every number links to the inventory list that
shows exactly it."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from reduction.issuance_link import keys_issued_without_request

from ..access import is_security, is_security_or_manager
from ..selectors import SHOWN_SEVERITIES, overview_of
from ..windows import AGE_WINDOWS

# The badges' colours (static/keyledger/keyledger.css), so a chart reads like the lists.
SEVERITY_COLOURS = {"critical": "#8e1b1b", "high": "#c62828", "medium": "#e0a800",
                    "low": "#90a4ae", "none": "#90caf9"}
COMPLIANCE_COLOURS = {"compliant": "#1b5e20", "excepted": "#7a5a00",
                      "non_compliant": "#8e1b1b"}


def _keys(**filters) -> str:
    """The inventory listing the active keys that match ``filters``."""
    return f"{reverse('inventory')}?{urlencode({'status': 'Active', **filters})}"


def _age_colour(window) -> str:
    """A bar's colour: the severity of the rotation finding keys of that age carry."""
    limit = settings.KEYLEDGER_ROTATION_MAX_DAYS
    if window.first > limit:
        return SEVERITY_COLOURS["high"]
    if window.first > limit - settings.KEYLEDGER_ROTATION_WARNING_DAYS:
        return SEVERITY_COLOURS["low"]
    return SEVERITY_COLOURS["none"]


def _age_chart(ages: dict[str, int]) -> dict:
    """Active keys per age window; each bar links to the age filter of the same window."""
    return {"type": "bar", "links": [[_keys(age=w.label) for w in AGE_WINDOWS]],
            "data": {"labels": [f"{w.label} d" for w in AGE_WINDOWS], "datasets": [{
                "label": "active keys by age (rotate by 90 days)",
                "data": [ages[w.label] for w in AGE_WINDOWS],
                "backgroundColor": [_age_colour(w) for w in AGE_WINDOWS]}]}}


def _stacked_chart(rows: list[tuple[str, dict[str, int], dict]]) -> dict:
    """Horizontal bars stacked by severity: rows of (name, counts per severity, filters)."""
    datasets, links = [], []
    for severity in SHOWN_SEVERITIES:
        datasets.append({"label": severity.value, "data": [c[severity.value] for _, c, _ in rows],
                         "backgroundColor": SEVERITY_COLOURS[severity.value]})
        links.append([_keys(severity=severity.value, **f) for _, _, f in rows])
    return {"type": "bar", "links": links,
            "options": {"indexAxis": "y", "scales": {"x": {"stacked": True},
                                                     "y": {"stacked": True}}},
            "data": {"labels": [name for name, _, _ in rows], "datasets": datasets}}


def _chart_links(chart: dict) -> list[tuple[str, str, int, str]]:
    """The chart as links (bar, part, count, inventory URL), for readers without the
    canvas and for tests; parts with no key are left out."""
    labels, datasets = chart["data"]["labels"], chart["data"]["datasets"]
    return [(labels[i], dataset["label"] if len(datasets) > 1 else "", n,
             chart["links"][d][i])
            for d, dataset in enumerate(datasets) for i, n in enumerate(dataset["data"]) if n]


def _trend_chart(per_day: dict[str, dict[str, int]]):
    """Keys per compliance state per day, summed over accounts, in the badges' colours."""
    labels = sorted(per_day)
    return {"type": "line", "data": {"labels": labels, "datasets": [
        {"label": name.replace("_", " "), "data": [per_day[d].get(name, 0) for d in labels],
         "borderColor": colour, "backgroundColor": colour}
        for name, colour in COMPLIANCE_COLOURS.items()]}}


def _tile_links(person) -> dict[str, str]:
    """Where each tile leads: a list showing exactly the tile's number. Keys without owner
    or purpose are the gaps page for those who may open it; anyone else sees only keys they
    own or oversee, which have an owner, so theirs are the keys without purpose."""
    return {
        "total": _keys(), "compliant": _keys(compliance="compliant"),
        "excepted": _keys(compliance="excepted"),
        "overdue": f"{reverse('inventory')}?finding=ROTATION_OVERDUE",
        "gaps": reverse("ownership-gaps") if is_security_or_manager(person)
        else f"{reverse('inventory')}?finding=NO_PURPOSE",
        "no_trail": f"{reverse('inventory')}?finding=NO_AUDIT_TRAIL&sort=account",
        "pending": f"{reverse('exceptions')}?tab=awaiting",
        "bad_accounts": f"{reverse('aws-accounts')}?stale=true",
        "unrequested": reverse("issuance-unrequested-keys"),
        **{s.value: _keys(severity=s.value) for s in SHOWN_SEVERITIES},
    }


@login_required
def overview(request):
    """Severity first, then tiles and charts, all live from the keys' stored judgement
    (``governance.selectors.overview``)."""
    shown = overview_of(request.user, now=timezone.now())
    links = _tile_links(request.user)
    account_chart = _stacked_chart([
        (row["account__name"], row, {"account": row["account__pk"]})
        for row in shown.by_account])
    element_chart = _stacked_chart([(element.title(), counts, {"element": element})
                                    for element, counts in shown.by_element.items()])
    age_chart = _age_chart(shown.ages)
    return render(request, "governance/overview.html", {
        "severities": [(s.value, shown.by_severity[s.value], links[s.value])
                       for s in SHOWN_SEVERITIES],
        "top_risks": shown.top_risks,
        "exposed_keys": shown.exposed_keys,
        "more_exposed": shown.more_exposed,
        "tiles": shown.tiles,
        "links": links,
        "age_chart": age_chart, "age_links": _chart_links(age_chart),
        "account_chart": account_chart, "account_links": _chart_links(account_chart),
        "element_chart": element_chart, "element_links": _chart_links(element_chart),
        "trend_chart": _trend_chart(shown.trend) if shown.trend is not None else None,
        "failed_runs": shown.failed_runs,
        "burndown": shown.burndown,
        # Security only: keys that appeared with no approved issuance request (issue 17).
        "unrequested": keys_issued_without_request().count()
        if is_security(request.user) else None,
    })
