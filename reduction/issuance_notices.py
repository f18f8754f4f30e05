"""Messages that close the issuance loop at once (as ``notifications.loops`` does for
exceptions): a filed request to its deciders, a decision to its requester, and a key that
appeared without a request to the security team. Each goes once per subject and state: the
outbox's claim makes a repeat a no-op.
"""

from celery import shared_task
from django.urls import reverse

from accounts.models import Person
from accounts.roles import Role
from governance.models import AccessKey
from notifications.delivery import deliver
from notifications.messages import Message
from notifications.models import Kind

from .issuance_rules import issuance_decision_refusal
from .models import IssuanceRequest

State = IssuanceRequest.State


def _security_team() -> list[Person]:
    return list(Person.objects.filter(is_active=True, groups__name=Role.SECURITY.value)
                .distinct().order_by("email"))


def issuance_deciders(request: IssuanceRequest) -> list[Person]:
    """Who is asked to decide ``request``: the requester's manager when they may (setting
    ``manager``), else each active security member who may (never the requester)."""
    manager = request.requested_by.manager
    if manager is not None and manager.is_active \
            and not issuance_decision_refusal(manager, request):
        return [manager]
    return [person for person in _security_team()
            if not issuance_decision_refusal(person, request)]


def _verdict_line(request: IssuanceRequest) -> str:
    verdict = request.verdict
    if verdict.get("admin"):
        return "check_policy: ADMIN (* on *). " + verdict["reasons"]["admin"]
    if verdict.get("escalation"):
        return "check_policy: privilege escalation. " + verdict["reasons"]["escalation"]
    if not verdict.get("source_restricted"):
        return "check_policy: not confined to known sources. " + verdict["reasons"]["source"]
    return "check_policy: not admin, no escalation path, confined to known sources."


def filed_messages(request: IssuanceRequest) -> list[Message]:
    requester = request.requested_by
    where = f"IAM user {request.user_name} in {request.account.account_id}"
    return [Message(
        recipient=decider, kind=Kind.ISSUANCE_REQUESTED, subject=f"issuance:{request.pk}",
        period="requested", title=f"Decide: a new access key for {where}",
        lines=(f"{requester.email} asks for a new access key for {where} "
               f"({request.get_category_display()}).",
               f"Their justification: {request.justification}", _verdict_line(request)),
        action="Approve it or reject it with a reason.",
        path=reverse("issuance-detail", args=[request.pk]))
        for decider in issuance_deciders(request)]


def decided_messages(request: IssuanceRequest) -> list[Message]:
    who = request.decided_by.email if request.decided_by else "Keyledger"
    where = f"IAM user {request.user_name} in {request.account.account_id}"
    if request.state == State.APPROVED:
        title = f"Approved: a new access key for {where}"
        action = ("Create the key on that user in AWS; the next sync links it to your request "
                  "and registers it with your answers.")
    else:
        title = f"Rejected: a new access key for {where}"
        action = "Use the alternative the decider points to, or file again with what is missing."
    lines = [f"{who} {request.state} your issuance request #{request.pk}."]
    if request.decision_note:
        lines.append(f"Their note: {request.decision_note}")
    return [Message(recipient=request.requested_by, kind=Kind.ISSUANCE_DECIDED,
                    subject=f"issuance:{request.pk}", period=str(request.state), title=title,
                    lines=tuple(lines), action=action,
                    path=reverse("issuance-detail", args=[request.pk]))]


def request_messages(request_id: int) -> list[Message]:
    """What the request's current state calls for; nothing once withdrawn or fulfilled."""
    request = (IssuanceRequest.objects.select_related("account", "requested_by__manager",
                                                      "decided_by")
               .filter(pk=request_id).first())
    if request is None:
        return []
    if request.state == State.REQUESTED:
        return filed_messages(request)
    if request.state in (State.APPROVED, State.REJECTED):
        return decided_messages(request)
    return []


def unrequested_key_messages(key_ids: list[int]) -> list[Message]:
    """Each key that appeared without an approved request, to each security member."""
    keys = list(AccessKey.objects.filter(pk__in=key_ids).select_related("account", "user"))
    team = _security_team()
    return [Message(
        recipient=person, kind=Kind.KEY_WITHOUT_REQUEST, subject=f"key:{key.pk}",
        period="issued", title=f"Issued without a request: access key {key}",
        lines=(f"Access key {key} appeared on IAM user {key.user.name} in "
               f"{key.account.account_id} with no approved issuance request.",),
        action="Find out who created it and why; register it, or deactivate it.",
        path=reverse("key-detail", args=[key.pk])) for key in keys for person in team]


@shared_task(ignore_result=True)
def send_issuance_notices(request_id: int) -> int:
    """Tell the deciders of a new request, or the requester of a decision (re-read now)."""
    return deliver(request_messages(request_id)).sent


@shared_task(ignore_result=True)
def send_unrequested_key_notices(key_ids: list[int]) -> int:
    """Tell the security team of keys issued without a request."""
    return deliver(unrequested_key_messages(key_ids)).sent
