"""Messages that close a loop the moment it opens, rather than at the next digest.

* An exception request, to the people who can decide it (DESIGN.md "Exceptions"): the
  requester's manager when they may decide it; otherwise (no manager, or the manager owns
  the key or has left) the security team, which may always decide. Sending it to every
  member of the manager group as well would tell dozens of people about one request that
  only one of them must act on.
* Its decision, to the requester: approved (until which day) or rejected (and why).
* A nudge, to the key's owner: the security team or a manager asked for it just now.

None of these is a digest: a person's digest setting does not silence them. Each is sent
once per exception and state (or per nudge): the outbox's claim makes a repeat a no-op.
"""

from django.urls import reverse

from accounts.models import Person
from accounts.roles import Role
from governance.access import decision_refusal
from governance.models import AccessKey, AuditEvent, ExceptionRequest
from governance.policy import RULES

from .messages import Message
from .models import Kind
from .owners import key_place

Status = ExceptionRequest.Status


def exception_deciders(exception: ExceptionRequest) -> list[Person]:
    """Who is asked to decide ``exception``: its requester's manager if they may, else each
    active security member who may (never the requester nor the key's owner)."""
    manager = exception.requested_by.manager
    if manager is not None and manager.is_active and not decision_refusal(manager, exception):
        return [manager]
    team = Person.objects.filter(is_active=True, groups__name=Role.SECURITY.value).distinct()
    return [person for person in team if not decision_refusal(person, exception)]


def _rule_title(code: str) -> str:
    rule = RULES.get(code)
    return f"{rule.title} ({code})" if rule else code


def _path(exception: ExceptionRequest) -> str:
    return reverse("exception-detail", args=[exception.pk])


def decision_requests(exception: ExceptionRequest) -> list[Message]:
    """A pending request, to each of its deciders."""
    key, requester = exception.key, exception.requested_by
    return [Message(
        recipient=decider, kind=Kind.EXCEPTION_REQUESTED, subject=f"exception:{exception.pk}",
        period="requested",
        title=f"Decide: exception for {exception.code} on {key} asked by {requester.email}",
        lines=(f"{requester.email} asks to waive {_rule_title(exception.code)} on access key "
               f"{key} ({key_place(key)}) until {exception.expires_on:%Y-%m-%d}.",
               f"Their justification: {exception.justification}"),
        action="Approve it (you may shorten the expiry) or reject it with a reason.",
        path=_path(exception)) for decider in exception_deciders(exception)]


def decision_notice(exception: ExceptionRequest) -> list[Message]:
    """An approved or rejected request, to its requester."""
    key, decider = exception.key, exception.decided_by
    who = decider.email if decider else "Keyledger"
    if exception.status == Status.APPROVED:
        title = (f"Approved: exception for {exception.code} on {key} until "
                 f"{exception.expires_on:%Y-%m-%d}")
        lines = [f"{who} approved your request to waive {_rule_title(exception.code)} on "
                 f"access key {key} ({key_place(key)}). It is covered until "
                 f"{exception.expires_on:%Y-%m-%d} (the last day); after that it counts again."]
        action = "Fix the finding before the exception ends."
    else:
        title = f"Rejected: exception for {exception.code} on {key}"
        lines = [f"{who} rejected your request to waive {_rule_title(exception.code)} on "
                 f"access key {key} ({key_place(key)})."]
        action = "Fix the finding, or ask again with what the decider needs to know."
    if exception.decision_note:
        lines.append(f"Their note: {exception.decision_note}")
    return [Message(recipient=exception.requested_by, kind=Kind.EXCEPTION_DECIDED,
                    subject=f"exception:{exception.pk}", period=str(exception.status),
                    title=title, lines=tuple(lines), action=action, path=_path(exception))]


def exception_messages(exception_id: int) -> list[Message]:
    """What the request's current state calls for: deciders asked while it is pending, the
    requester told once it is approved or rejected; nothing in any other state."""
    exception = (ExceptionRequest.objects.select_related(
        "key__account", "key__user", "requested_by__manager", "decided_by")
        .filter(pk=exception_id).first())
    if exception is None:
        return []
    if exception.status == Status.REQUESTED:
        return decision_requests(exception)
    if exception.status in (Status.APPROVED, Status.REJECTED):
        return decision_notice(exception)
    return []


def nudge_message(*, key: AccessKey, event: AuditEvent) -> Message:
    """The reminder a nudge (``event``, its audit event) sends to the key's owner now."""
    gaps = [code for code in key.open_code_list if code in ("NO_PURPOSE", "NO_OWNER")]
    lines = [f"{event.actor_label} asks you to look at your access key {key} of IAM user "
             f"{key_place(key)} now."]
    if gaps:
        lines.append("Open: " + ", ".join(_rule_title(code) for code in gaps) + ".")
    return Message(
        recipient=key.owner, kind=Kind.OWNER_NUDGE, subject=f"key:{key.pk}",
        period=f"event-{event.pk}", title=f"Reminder: access key {key} needs you",
        lines=tuple(lines),
        action="Register the key's purpose and why a role, Identity Center or STS cannot "
               "serve; if it is not yours, tell the security team.",
        path=reverse("key-register", args=[key.pk]))
