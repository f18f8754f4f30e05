"""Who may do what: the one permission vocabulary of services, views, the API and templates.

Visibility lives on the querysets (``AccessKey.objects.visible_to`` and its siblings); this
module names every other decision, so that a page offers exactly what the service that acts
will allow. Views start with a decorator or a ``*_for`` fetcher from here; templates get the
booleans these functions return through the view's context, and never re-derive them.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from accounts.models import Person
from accounts.roles import is_security

from .models import AccessKey, AwsAccount, ExceptionRequest

EXCEPTION_ACTIONS = ("approve", "reject", "withdraw", "revoke")

__all__ = ["EXCEPTION_ACTIONS", "account_for", "can_assign_owner", "can_deactivate",
           "can_manage_key", "can_nudge_owner", "can_nudge_owners", "can_place_unknown_keys",
           "decision_refusal", "exception_action_refusal", "exception_for", "is_security",
           "is_security_or_manager", "manager_or_security_refusal",
           "key_for", "leaver_key_for", "registration_owner", "security_or_manager_required",
           "security_required", "team_member_for"]


def is_security_or_manager(person) -> bool:
    """The security team and managers oversee others' keys (gaps, rotation, decisions)."""
    return is_security(person) or bool(
        person and person.is_authenticated and person.is_active and person.is_manager)


def _role_required(allowed, refusal: str):
    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not allowed(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)
        return login_required(checked)
    return decorator


# A page only the security team may open: the sign-in page for anyone signed out, else 403.
security_required = _role_required(is_security, "This page is for the security team.")
# A page for the security team and managers: the sign-in page for anyone signed out, else 403.
security_or_manager_required = _role_required(
    is_security_or_manager, "This page is for the security team and managers.")


# -- objects: fetched within the person's scope, or 404 (never 403: do not confirm that an
# -- object outside it exists)

def key_for(person, pk: int) -> AccessKey:
    """The key ``pk`` if ``person`` may see it, with its account, IAM user and owners."""
    keys = AccessKey.objects.visible_to(person).select_related(
        "account", "user", "owner", "assigned_owner")
    return get_object_or_404(keys, pk=pk)


def exception_for(person, pk: int) -> ExceptionRequest:
    """The exception request ``pk`` if ``person`` may see it, with its key, requester (and
    their manager) and decider."""
    requests = ExceptionRequest.objects.visible_to(person).select_related(
        "key__account", "key__user", "requested_by__manager", "decided_by")
    return get_object_or_404(requests, pk=pk)


def account_for(person, pk: int, *, accounts=None) -> AwsAccount:
    """The AWS account ``pk`` if ``person`` may see it; taken from ``accounts`` (an
    ``AwsAccount`` queryset with what the page shows joined) when given."""
    accounts = AwsAccount.objects.all() if accounts is None else accounts
    return get_object_or_404(accounts.visible_to(person), pk=pk)


# -- keys --------------------------------------------------------------------------------

def can_manage_key(person: Person, key: AccessKey) -> bool:
    """The key's resolved owner or the security team may register and request for it."""
    if not (person and person.is_active):
        return False
    return is_security(person) or (key.owner_id is not None and key.owner_id == person.pk)


def can_assign_owner(person, key: AccessKey | None = None) -> bool:
    """The security team names any key's owner; a manager names the new owner of a key its
    former owner, their report, left behind (``key`` in their queue "Keys of people who
    left", ``selectors.team.leaver_keys``)."""
    if is_security(person):
        return True
    if key is None or not is_security_or_manager(person):
        return False
    from .selectors.team import leaver_keys  # the selectors read this module

    return leaver_keys(person).filter(pk=key.pk).exists()


def leaver_key_for(person, pk: int) -> AccessKey:
    """The key ``pk`` if it is in ``person``'s queue of keys of people who left, else 404."""
    from .selectors.team import leaver_keys

    return get_object_or_404(leaver_keys(person), pk=pk)


def team_member_for(person, pk: int) -> Person:
    """``person``'s active direct report ``pk`` (My team counts direct reports only), else
    404."""
    return get_object_or_404(Person.objects.filter(manager=person, is_active=True), pk=pk)


def can_deactivate(person, key: AccessKey) -> bool:
    """Whether ``person`` is offered to deactivate ``key`` in AWS: the security team, for a
    key still active in AWS. (``key_deactivate`` then refuses, saying why, a root key and an
    account without a responder role.)"""
    return is_security(person) and key.status == AccessKey.Status.ACTIVE \
        and key.removed_at is None


def can_nudge_owners(person) -> bool:
    """The security team and managers remind owners of the keys they see (a page of keys
    from ``visible_to`` asks this once, not per key)."""
    return is_security_or_manager(person)


def can_nudge_owner(person, key: AccessKey) -> bool:
    """Whether ``person`` may remind ``key``'s owner now (the gaps page's "Nudge owner";
    ``owner_nudge`` limits how often): ``can_nudge_owners`` and ``key`` in their sight."""
    return can_nudge_owners(person) and \
        AccessKey.objects.visible_to(person).filter(pk=key.pk).exists()


def key_can_be_justified(key: AccessKey) -> bool:
    """Whether a purpose can be registered and exceptions requested for ``key`` at all: a
    key still in AWS that is not the root user's. A root key has no purpose to register and
    its finding cannot be waived: it must be deleted."""
    return key.removed_at is None and not key.user.is_root


def can_justify_key(person: Person, key: AccessKey) -> bool:
    """Whether ``person`` is offered to register a purpose or request an exception for
    ``key``: who may manage it (``can_manage_key``), for a key that can be justified."""
    return can_manage_key(person, key) and key_can_be_justified(key)


def can_place_unknown_keys(person) -> bool:
    """Only the security team learns which AWS account an id not in the inventory belongs
    to (everyone else is told only that it is not among their keys)."""
    return is_security(person)


def registration_owner(person, key: AccessKey) -> Person:
    """Who owns ``key`` once ``person`` registers its purpose: the registrant, except when
    the security team registers a key that already has an owner, who stays."""
    if is_security(person) and key.owner is not None:
        return key.owner
    return person


# -- exception requests ------------------------------------------------------------------

def decision_refusal(actor: Person, exception) -> str:
    """Why ``actor`` may not decide this exception request, or '' if they may.

    DESIGN.md: never the requester and never the key's owner (the resolved owner, stored on
    the key by the evaluation: its assignment, else its owner tag); where the requester has
    a manager, that manager or the security team; otherwise any manager or the security
    team. The database refuses the first two too (``exception_not_self_decided``, migration
    0012's trigger).
    """
    requester = exception.requested_by
    if not actor.is_active:
        return "inactive people cannot decide exceptions"
    if actor.pk == requester.pk:
        return "you cannot decide your own exception request"
    if actor.pk == exception.key.owner_id:
        return "you own this key: you cannot decide an exception on it"
    if (not actor.is_security and requester.manager_id is not None
            and actor.pk != requester.manager_id
            and requester.manager_id == exception.key.owner_id):
        return (f"only the security team can decide this request ({requester.email}'s "
                "manager owns the key)")
    return manager_or_security_refusal(actor, requester)


def manager_or_security_refusal(actor: Person, requester: Person) -> str:
    """Why ``actor`` is not among the deciders of a request ``requester`` made, or '' if
    they are (DESIGN.md "Exceptions", shared by issuance requests): where the requester has
    a manager, that manager or the security team; otherwise any manager or the security
    team. The caller has already refused the requester (and anyone else its rules name).
    """
    if actor.is_security:
        return ""
    if requester.manager_id is not None:
        if actor.pk == requester.manager_id:
            return ""
        manager = requester.manager.email if requester.manager is not None else "their manager"
        return (f"only {manager} ({requester.email}'s manager) "
                "or the security team can decide this request")
    if actor.is_manager:
        return ""
    return "only a manager or the security team can decide this request"


def exception_action_refusal(person, exception, action: str) -> str:
    """Why ``person``'s role does not let them ``approve``, ``reject``, ``withdraw`` or
    ``revoke`` this request, or '' if it does (whether its state allows the action is the
    service's to say).

    Deciders per ``decision_refusal`` approve and reject; the requester or the security team
    withdraw; the security team or a possible decider revoke.
    """
    if action == "withdraw":
        if person.pk == exception.requested_by_id or is_security(person):
            return ""
        return "only the requester or the security team can withdraw a request"
    refusal = decision_refusal(person, exception)
    if action == "revoke" and refusal and not is_security(person):
        return "only the security team or the requester's approver can revoke"
    return "" if action == "revoke" else refusal
