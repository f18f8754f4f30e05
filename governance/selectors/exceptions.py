"""Exception requests: the lists by tab, one request's page, what a key can still waive."""

from dataclasses import dataclass

from django.db.models import QuerySet

from ..models import AuditEvent, ExceptionRequest, Finding
from ..policy import RULES, Element
from .keys import ElementVerdict, key_scorecard


def waivable_findings(key) -> list[Finding]:
    """The key's open, waivable findings that no open exception request covers yet, by code;
    none once the key is gone from AWS."""
    if key.removed_at is not None:
        return []
    taken = set(ExceptionRequest.objects.filter(key=key, status__in=ExceptionRequest.OPEN_STATUSES)
                .values_list("code", flat=True))
    open_findings = Finding.objects.filter(key=key, resolved_at__isnull=True).order_by("code")
    return [f for f in open_findings
            if f.code in RULES and RULES[f.code].waivable and f.code not in taken]


def decisions_awaiting_count(person) -> int:
    """How many pending requests ``person`` may decide (the navigation's badge, a tile)."""
    return ExceptionRequest.objects.awaiting_decision_by(person).count()


def exception_listing(requests: QuerySet) -> QuerySet:
    """``requests`` with key, account, IAM user, requester and decider joined, newest first."""
    return (requests.select_related("key__account", "key__user", "requested_by", "decided_by")
            .order_by("-requested_at", "-pk"))


def exception_requests_for(person, tab: str) -> QuerySet:
    """The requests of a tab of the exceptions page, as ``exception_listing``: ``awaiting``
    ``person``'s decision, requested by them (``mine``), or ``all`` they may see."""
    requests = {
        "awaiting": ExceptionRequest.objects.awaiting_decision_by,
        "mine": lambda person: ExceptionRequest.objects.filter(requested_by=person),
        "all": ExceptionRequest.objects.visible_to,
    }[tab](person)
    return exception_listing(requests)


@dataclass(frozen=True)
class ExceptionPage:
    """What a request's page shows besides the request itself: enough about the key to
    decide without leaving the page."""

    finding: Finding | None  # the open finding it waives; None once resolved
    events: list[AuditEvent]  # its audit trail, oldest first
    other_findings: list[Finding]  # the key's other open findings, worst first
    permissions: ElementVerdict  # the key's Permissions verdict (admin, escalation, root)


def exception_page(exception: ExceptionRequest) -> ExceptionPage:
    open_findings = list(Finding.objects.filter(key=exception.key_id, resolved_at__isnull=True)
                         .order_by("code"))
    others = sorted((f for f in open_findings if f.code != exception.code),
                    key=lambda f: (-RULES[f.code].severity.rank() if f.code in RULES else 0,
                                   f.code))
    card = {verdict.element: verdict for verdict in key_scorecard(open_findings)}
    return ExceptionPage(
        finding=next((f for f in open_findings if f.code == exception.code), None),
        events=list(AuditEvent.objects.filter(object_type="ExceptionRequest",
                                              object_id=str(exception.pk)).order_by("at", "id")),
        other_findings=others,
        permissions=card[Element.PERMISSIONS.value],
    )
