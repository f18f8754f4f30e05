"""A manager's "My team": each direct report's keys, open findings by severity, overdue keys
and pending exception requests, each number a link to the list that shows exactly it."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse

from ..access import security_or_manager_required, team_member_for
from ..selectors.team import TEAM_SEVERITIES, leaver_keys, team_findings, team_of
from .paging import page_of


def _links(member) -> dict:
    """Where each of a report's numbers leads: lists filtered to exactly that number."""
    email = member.person.email
    return {
        "keys": f"{reverse('inventory')}?{urlencode({'owner': email})}",
        "overdue": f"{reverse('inventory')}?"
                   f"{urlencode({'owner': email, 'finding': 'ROTATION_OVERDUE'})}",
        "pending": f"{reverse('exceptions')}?"
                   f"{urlencode({'tab': 'all', 'status': 'requested', 'requester': email})}",
        "findings": [(severity, count, f"{reverse('team-findings', args=[member.person.pk])}?"
                                       f"{urlencode({'severity': severity})}")
                     for severity, count in member.severity_counts],
    }


@security_or_manager_required
def my_team(request):
    """Per direct report (indirect ones are their own manager's), what is open on their keys;
    and how many keys people who left handed over to this manager's queue."""
    team = team_of(request.user)
    return render(request, "governance/workflows/team.html", {
        "rows": [(member, _links(member)) for member in team],
        "severities": TEAM_SEVERITIES, "leaver_count": leaver_keys(request.user).count()})


@security_or_manager_required
def team_member_findings(request, pk: int):
    """The open, not excepted findings of one direct report's keys (optionally of one
    severity): what a My team number counts."""
    member = team_member_for(request.user, pk)
    severity = request.GET.get("severity")
    severity = severity if severity in TEAM_SEVERITIES else None
    page, query = page_of(request, team_findings(member, severity))
    return render(request, "governance/workflows/team_findings.html", {
        "member": member, "severity": severity, "page": page, "query": query})
