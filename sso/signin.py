"""Who an OpenID sign-in is: claims in, a Keyledger person out (or why not).

The person is matched by the provider's e-mail, which must be verified, compared in its one
spelling (``accounts.identity``); with ``KEYLEDGER_OIDC_CREATE_PEOPLE`` an unknown e-mail
becomes a new person. Roles are re-read from the groups claim at every sign-in when the
directory manages roles (``accounts.directory``). Every change goes through the audited
services of ``accounts.services``; the sign-in itself is audited as ``auth.sign_in``.
"""

from django.conf import settings
from django.db import transaction

from accounts.directory import directory_manages_roles, roles_for_groups
from accounts.identity import normalise_email
from accounts.models import Person
from accounts.services import person_create, person_set_roles
from core.audit import audit


class SignInRefused(Exception):
    """A sign-in Keyledger refuses; ``reason`` picks the page that explains it."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _email_verified(claims: dict) -> bool:
    """``email_verified`` as providers send it: a boolean, or (some) the string "true"; when
    absent, what ``KEYLEDGER_OIDC_TRUST_EMAIL`` says (Entra ID sends none)."""
    value = claims.get("email_verified")
    if value is None:
        return settings.KEYLEDGER_OIDC_TRUST_EMAIL
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@transaction.atomic
def person_for_claims(*, claims: dict, issuer: str) -> Person:
    """The active person these verified ID-token (and userinfo) claims name.

    Raises SignInRefused with ``unverified_email``, ``unknown_person`` or ``inactive``.
    """
    via = f"sign-in through {issuer}"
    email = normalise_email(claims.get("email"))
    if not email or not _email_verified(claims):
        raise SignInRefused("unverified_email", email)
    try:
        person = Person.objects.get_by_natural_key(email)
    except Person.DoesNotExist:
        if not settings.KEYLEDGER_OIDC_CREATE_PEOPLE:
            raise SignInRefused("unknown_person", email) from None
        person = person_create(actor=None, email=email, name=str(claims.get("name") or "")[:200],
                               via=via)
    if not person.is_active:
        raise SignInRefused("inactive", email)
    if directory_manages_roles():
        groups = claims.get(settings.KEYLEDGER_OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        person = person_set_roles(actor=None, person=person, roles=roles_for_groups(groups),
                                  via=via)
    audit(actor=person, action="auth.sign_in", obj=person,
          summary=f"{person.email} signed in through {issuer}",
          after={"method": "oidc", "issuer": issuer, "subject": str(claims.get("sub", ""))})
    return person
