"""Password sign-in, which turns off once an OpenID provider is configured.

Then only the break-glass accounts (``KEYLEDGER_BREAK_GLASS``, e-mails) may sign in with a
password: for the day the provider is down. Their sign-ins are audited (``sso.receivers``)
and listed on the security team's overview.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from accounts.identity import normalise_email


def is_break_glass(email) -> bool:
    return normalise_email(email) in {normalise_email(e) for e in settings.KEYLEDGER_BREAK_GLASS}


def password_sign_in_allowed(email) -> bool:
    return not settings.KEYLEDGER_OIDC_ISSUER or is_break_glass(email)


class PasswordSignInBackend(ModelBackend):
    """Django's own password check, for whom ``password_sign_in_allowed``; also the backend
    recorded in sessions started through the provider (it loads the person by id)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self.UserModel.USERNAME_FIELD)
        if username is None or not password_sign_in_allowed(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class OidcSessionBackend(ModelBackend):
    """The backend recorded in sessions started through the provider: it loads the person
    by id and never checks a password, so the two kinds of sign-in stay apart."""

    def authenticate(self, request, **credentials):
        return None
