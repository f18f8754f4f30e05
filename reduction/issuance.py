"""Issuance requests (DESIGN.md "Fewer keys"): a new key's five elements fixed before it
exists. ``requested -> approved | rejected | withdrawn``; ``approved -> fulfilled`` when a
sync links the new key (``reduction.issuance_link``).

Every transition is audited in its transaction; the deciders hear of a new request, and
the requester of the decision, once it commits (``reduction.issuance_notices``).
"""

from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit
from core.errors import GovernanceError, NotAllowed
from governance.models import AwsAccount, PurposeCategory

from .issuance_rules import (
    ACCOUNT_ID,
    IAM_USER_NAME,
    declared_sources,
    issuance_decision_refusal,
    issuance_withdraw_refusal,
    judge_policies,
)
from .models import IssuanceRequest

State = IssuanceRequest.State
ANSWER_FIELDS = ("runs_where", "justification", "why_not_iam_role", "why_not_identity_center",
                 "why_not_sts", "rotation_plan", "deactivation_contact")


@dataclass(frozen=True)
class IssuanceInput:
    """What the requester answers; ``policy_text`` and ``sources_text`` as typed."""

    account_id: str
    user_name: str
    category: str
    runs_where: str
    justification: str
    why_not_iam_role: str
    why_not_identity_center: str
    why_not_sts: str
    policy_text: str
    sources_text: str
    rotation_plan: str
    deactivation_contact: str


def _state(request: IssuanceRequest) -> dict:
    return {"state": request.state}


def _announce(request: IssuanceRequest) -> None:
    """After commit, tell whoever acts next (deciders, then the requester); a failure to
    tell never undoes the change."""
    from .issuance_notices import send_issuance_notices

    transaction.on_commit(partial(send_issuance_notices.delay, request.pk), robust=True)


def issuance_account(account_id: str) -> AwsAccount:
    account_id = account_id.strip()
    if not ACCOUNT_ID.fullmatch(account_id):
        raise GovernanceError("account: an AWS account id is 12 digits")
    account = AwsAccount.objects.filter(account_id=account_id).first()
    if account is None:
        raise GovernanceError(f"account: {account_id} is not governed by Keyledger; ask the "
                              "security team to add it first")
    return account


@transaction.atomic
def issuance_file(*, actor, data: IssuanceInput) -> IssuanceRequest:
    """File a request. Every answer is required; the policies are judged now and the verdict
    stored with the request (a bad verdict does not stop filing: the decider sees it)."""
    if not (actor and actor.is_active):
        raise NotAllowed("inactive people cannot file requests")
    account = issuance_account(data.account_id)
    user_name = data.user_name.strip()
    if not IAM_USER_NAME.fullmatch(user_name):
        raise GovernanceError("IAM user: up to 64 letters, digits and + = , . @ _ -")
    if data.category not in PurposeCategory.values:
        raise GovernanceError(f"unknown purpose category {data.category!r}")
    missing = [name for name in ANSWER_FIELDS if not getattr(data, name).strip()]
    if missing:
        raise GovernanceError("required: " + ", ".join(n.replace("_", " ") for n in missing))
    try:
        judged = judge_policies(data.policy_text)
    except ValueError as problem:
        raise GovernanceError(f"proposed policy: {problem}") from None
    try:
        sources = declared_sources(data.sources_text)
    except ValueError as problem:
        raise GovernanceError(f"declared sources: {problem}") from None
    try:
        with transaction.atomic():
            request = IssuanceRequest.objects.create(
                account=account, user_name=user_name, requested_by=actor,
                category=data.category, policy_text=data.policy_text.strip(),
                policies=judged.policies, verdict=judged.verdict, declared_sources=sources,
                requested_at=timezone.now(),
                **{name: getattr(data, name).strip() for name in ANSWER_FIELDS})
    except IntegrityError:
        raise GovernanceError(f"a request for a key of {user_name} in {account.account_id} is "
                              "already open") from None
    verdict = judged.verdict
    audit(actor=actor, action="issuance.request", obj=request,
          summary=f"requested a new key for IAM user {user_name} in {account.account_id}",
          after={**_state(request), "admin": verdict["admin"],
                 "escalation": verdict["escalation"],
                 "source_restricted": verdict["source_restricted"],
                 "declared_sources": sources})
    _announce(request)
    return request


def _locked(request: IssuanceRequest) -> IssuanceRequest:
    """Re-read under a lock: two deciders cannot both decide one request."""
    return (IssuanceRequest.objects.select_for_update(of=("self",))
            .select_related("account", "requested_by__manager").get(pk=request.pk))


def _decide(*, actor, request: IssuanceRequest, state: str, note: str) -> IssuanceRequest:
    request = _locked(request)
    if request.state != State.REQUESTED:
        raise GovernanceError(f"this request is already {request.get_state_display().lower()}")
    refusal = issuance_decision_refusal(actor, request)
    if refusal:
        raise NotAllowed(refusal)
    before = _state(request)
    now = timezone.now()
    request.state, request.decided_by, request.decided_at = state, actor, now
    request.decision_note = note.strip()
    if state == State.REJECTED:
        request.closed_at = now
    request.save()
    verb = "approve" if state == State.APPROVED else "reject"
    audit(actor=actor, action=f"issuance.{verb}", obj=request,
          summary=f"{state} issuance request #{request.pk} for IAM user {request.user_name} "
                  f"in {request.account.account_id}",
          before=before, after={**_state(request), "note": request.decision_note[:500]})
    _announce(request)
    return request


@transaction.atomic
def issuance_approve(*, actor, request: IssuanceRequest, note: str = "") -> IssuanceRequest:
    """Approve: the next key that appears on the user (created from now on) is linked."""
    return _decide(actor=actor, request=request, state=State.APPROVED, note=note)


@transaction.atomic
def issuance_reject(*, actor, request: IssuanceRequest, note: str) -> IssuanceRequest:
    if not note.strip():
        raise GovernanceError("say why the request is rejected")
    return _decide(actor=actor, request=request, state=State.REJECTED, note=note)


@transaction.atomic
def issuance_withdraw(*, actor, request: IssuanceRequest) -> IssuanceRequest:
    """The requester (or security) withdraws a request not yet decided."""
    request = _locked(request)
    if request.state != State.REQUESTED:
        raise GovernanceError("only a pending request can be withdrawn; this one is "
                              f"{request.get_state_display().lower()}")
    refusal = issuance_withdraw_refusal(actor, request)
    if refusal:
        raise NotAllowed(refusal)
    before = _state(request)
    request.state, request.closed_at = State.WITHDRAWN, timezone.now()
    request.save(update_fields=["state", "closed_at"])
    audit(actor=actor, action="issuance.withdraw", obj=request,
          summary=f"withdrew issuance request #{request.pk} for IAM user {request.user_name}",
          before=before, after=_state(request))
    return request
