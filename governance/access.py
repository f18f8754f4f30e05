"""Who may act on what: the relationship checks every service and view relies on."""

from accounts.models import Person

from .models import AccessKey


def is_security(person) -> bool:
    return bool(person and person.is_authenticated and person.is_active and person.is_security)


def can_manage_key(person: Person, key: AccessKey) -> bool:
    """The key's resolved owner or the security team may register and request for it."""
    if not (person and person.is_active):
        return False
    return is_security(person) or (key.owner_id is not None and key.owner_id == person.pk)


def decision_refusal(actor: Person, requester: Person) -> str:
    """Why ``actor`` may not decide ``requester``'s exception request, or '' if they may.

    DESIGN.md: never the requester; where the requester has a manager, that manager or the
    security team; otherwise any manager or the security team.
    """
    if not actor.is_active:
        return "inactive people cannot decide exceptions"
    if actor.pk == requester.pk:
        return "you cannot decide your own exception request"
    if actor.is_security:
        return ""
    if requester.manager_id is not None:
        if actor.pk == requester.manager_id:
            return ""
        return (f"only {requester.manager.email} ({requester.email}'s manager) "
                "or the security team can decide this request")
    if actor.is_manager:
        return ""
    return "only a manager or the security team can decide this request"
