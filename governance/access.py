"""Who may act on what: the relationship checks every service and view relies on."""

from accounts.models import Person
from accounts.roles import is_security

from .models import AccessKey

__all__ = ["can_manage_key", "decision_refusal", "is_security"]


def can_manage_key(person: Person, key: AccessKey) -> bool:
    """The key's resolved owner or the security team may register and request for it."""
    if not (person and person.is_active):
        return False
    return is_security(person) or (key.owner_id is not None and key.owner_id == person.pk)


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
    if actor.is_security:
        return ""
    if requester.manager_id is not None:
        if actor.pk == requester.manager_id:
            return ""
        if requester.manager_id == exception.key.owner_id:
            return (f"only the security team can decide this request ({requester.email}'s "
                    "manager owns the key)")
        return (f"only {requester.manager.email} ({requester.email}'s manager) "
                "or the security team can decide this request")
    if actor.is_manager:
        return ""
    return "only a manager or the security team can decide this request"
