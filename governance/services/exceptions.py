"""Exception requests: requested -> approved | rejected | withdrawn; approved -> expired | revoked.

Each transition checks DESIGN.md's rules, writes its audit event and re-evaluates the key
in the same transaction, so a key turns ``excepted`` (or back) the moment the decision is
made.
"""

from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit
from core.errors import GovernanceError, NotAllowed

from ..access import can_manage_key, decision_refusal, exception_action_refusal
from ..evaluation import evaluate_keys
from ..models import AccessKey, ExceptionRequest, Finding
from ..policy import RULES
from ..signals import exception_changed

Status = ExceptionRequest.Status


def expiry_problem(expires_on: date, today: date) -> str:
    """Why an expiry date is not allowed, or ''."""
    longest = settings.KEYLEDGER_EXCEPTION_MAX_DAYS
    if expires_on <= today:
        return "the expiry must be in the future"
    latest = today + timedelta(days=longest)
    if expires_on > latest:
        return f"an exception can last at most {longest} days (until {latest})"
    return ""


def _state(exception: ExceptionRequest) -> dict:
    return {"status": exception.status, "expires_on": exception.expires_on.isoformat()}


def _reevaluate(exception: ExceptionRequest) -> None:
    evaluate_keys(keys=AccessKey.objects.filter(pk=exception.key_id))


def _announce(exception: ExceptionRequest) -> None:
    """Once committed, say the request was made or decided: the decider, then the requester,
    is told at once (notifications), not by the next digest. Robust: a failure to announce
    never undoes the decision."""
    transaction.on_commit(partial(exception_changed.send, sender=ExceptionRequest,
                                  exception_id=exception.pk), robust=True)


def _locked(exception: ExceptionRequest) -> ExceptionRequest:
    """Re-read the request and its key under a lock: two deciders cannot both act on one
    request, and the key's owner cannot change between the check and the decision."""
    return (ExceptionRequest.objects.select_for_update(no_key=True, of=("self", "key"))
            .select_related("key", "requested_by__manager").get(pk=exception.pk))


def approval_expiry_problem(exception: ExceptionRequest, expires_on: date | None,
                            today: date) -> str:
    """Why approving ``exception`` (optionally until ``expires_on``) is not allowed, or ''.

    An approval may shorten the requested expiry, never extend it; the expiry it approves
    must be valid today (in the future, within the longest exception), so a request whose
    expiry has passed cannot be approved: the requester asks again.
    """
    requested = exception.expires_on
    if requested <= today:
        when = "has passed" if requested < today else "is today, not in the future"
        return (f"the requested expiry ({requested:%Y-%m-%d}) {when}; reject the request and "
                "ask for a new one")
    if expires_on is not None and expires_on > requested:
        return (f"an approval may shorten the requested expiry ({requested:%Y-%m-%d}), "
                "not extend it")
    return expiry_problem(expires_on or requested, today)


@transaction.atomic
def exception_request(*, actor, key: AccessKey, code: str, justification: str,
                      expires_on: date) -> ExceptionRequest:
    """The owner (or security) asks to waive one open, waivable finding until ``expires_on``."""
    if not can_manage_key(actor, key):
        raise NotAllowed("only the key's owner or the security team can request an exception")
    rule = RULES.get(code)
    if rule is None or not rule.waivable:
        raise GovernanceError(f"{code} cannot be waived")
    if not Finding.objects.filter(key=key, code=code, resolved_at__isnull=True).exists():
        raise GovernanceError(f"{code} is not open on this key")
    if not justification.strip():
        raise GovernanceError("a justification is required")
    problem = expiry_problem(expires_on, timezone.localdate())
    if problem:
        raise GovernanceError(problem)
    try:
        with transaction.atomic():
            exception = ExceptionRequest.objects.create(
                key=key, code=code, requested_by=actor, justification=justification.strip(),
                expires_on=expires_on, requested_at=timezone.now())
    except IntegrityError:
        raise GovernanceError(f"an exception for {code} on this key is already open") from None
    audit(actor=actor, action="exception.request", obj=exception,
          summary=f"requested an exception for {code} on {key} until {expires_on}",
          after=_state(exception))
    _announce(exception)
    return exception


def _decide(*, actor, exception: ExceptionRequest, status: str, note: str,
            expires_on: date | None = None) -> ExceptionRequest:
    exception = _locked(exception)
    if exception.status != Status.REQUESTED:
        raise GovernanceError(f"this request is already {exception.status}")
    refusal = decision_refusal(actor, exception)
    if refusal:
        raise NotAllowed(refusal)
    before = _state(exception)
    if status == Status.APPROVED:
        problem = approval_expiry_problem(exception, expires_on, timezone.localdate())
        if problem:
            raise GovernanceError(problem)
        exception.expires_on = expires_on or exception.expires_on
    now = timezone.now()
    exception.status, exception.decided_by, exception.decided_at = status, actor, now
    exception.key_owner_at_decision_id = exception.key.owner_id  # Postgres: set by trigger too
    exception.decision_note = note.strip()
    if status == Status.REJECTED:
        exception.closed_at = now
    exception.save()
    _reevaluate(exception)
    audit(actor=actor, action=f"exception.{'approve' if status == Status.APPROVED else 'reject'}",
          obj=exception, summary=f"{status} the exception for {exception.code} on {exception.key}",
          before=before, after={**_state(exception), "note": exception.decision_note[:500]})
    _announce(exception)
    return exception


@transaction.atomic
def exception_approve(*, actor, exception: ExceptionRequest, note: str = "",
                      expires_on: date | None = None) -> ExceptionRequest:
    """Approve, optionally shortening the expiry (``approval_expiry_problem``); the key's
    finding becomes excepted."""
    return _decide(actor=actor, exception=exception, status=Status.APPROVED, note=note,
                   expires_on=expires_on)


@transaction.atomic
def exception_reject(*, actor, exception: ExceptionRequest, note: str) -> ExceptionRequest:
    if not note.strip():
        raise GovernanceError("say why the request is rejected")
    return _decide(actor=actor, exception=exception, status=Status.REJECTED, note=note)


@transaction.atomic
def exception_withdraw(*, actor, exception: ExceptionRequest) -> ExceptionRequest:
    """The requester (or security) withdraws a request not yet decided."""
    exception = _locked(exception)
    if exception.status != Status.REQUESTED:
        raise GovernanceError(f"only a pending request can be withdrawn; this one is "
                              f"{exception.status}")
    refusal = exception_action_refusal(actor, exception, "withdraw")
    if refusal:
        raise NotAllowed(refusal)
    before = _state(exception)
    exception.status, exception.closed_at = Status.WITHDRAWN, timezone.now()
    exception.save(update_fields=["status", "closed_at"])
    audit(actor=actor, action="exception.withdraw", obj=exception,
          summary=f"withdrew the exception request for {exception.code} on {exception.key}",
          before=before, after=_state(exception))
    return exception


@transaction.atomic
def exception_revoke(*, actor, exception: ExceptionRequest, note: str) -> ExceptionRequest:
    """End an approved exception early; the finding counts again at once."""
    exception = _locked(exception)
    if exception.status != Status.APPROVED:
        raise GovernanceError(f"only an approved exception can be revoked; this one is "
                              f"{exception.status}")
    refusal = exception_action_refusal(actor, exception, "revoke")
    if refusal:
        raise NotAllowed(refusal)
    if not note.strip():
        raise GovernanceError("say why the exception is revoked")
    before = _state(exception)
    exception.status, exception.closed_at = Status.REVOKED, timezone.now()
    exception.decision_note = note.strip()
    exception.save(update_fields=["status", "closed_at", "decision_note"])
    _reevaluate(exception)
    audit(actor=actor, action="exception.revoke", obj=exception,
          summary=f"revoked the exception for {exception.code} on {exception.key}",
          before=before, after={**_state(exception), "note": exception.decision_note[:500]})
    return exception


@transaction.atomic
def exceptions_expire(*, today: date | None = None) -> int:
    """Expire approved exceptions past their last day; their findings reopen. System actor."""
    today = today or timezone.localdate()
    due = list(ExceptionRequest.objects.select_for_update()
               .filter(status=Status.APPROVED, expires_on__lt=today).select_related("key"))
    now = timezone.now()
    for exception in due:
        before = _state(exception)
        exception.status, exception.closed_at = Status.EXPIRED, now
        exception.save(update_fields=["status", "closed_at"])
        audit(actor=None, action="exception.expire", obj=exception,
              summary=f"exception for {exception.code} on {exception.key} expired",
              before=before, after=_state(exception), at=now)
    if due:
        evaluate_keys(keys=AccessKey.objects.filter(pk__in={e.key_id for e in due}))
    return len(due)
