"""A break-glass password sign-in, while the OpenID provider is configured, is audited."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .backends import is_break_glass
from .oidc import oidc_enabled
from .services import break_glass_sign_in

PASSWORD_BACKEND = "sso.backends.PasswordSignInBackend"


@receiver(user_logged_in, dispatch_uid="sso-break-glass")
def record_break_glass(sender, request, user, **kwargs):
    """Only password sign-ins count: one through the provider is recorded as ``auth.sign_in``."""
    if getattr(user, "backend", "") != PASSWORD_BACKEND:
        return
    if oidc_enabled() and is_break_glass(user.email):
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        break_glass_sign_in(person=user, address=address)
