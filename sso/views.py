"""Sign-in and sign-out through the OpenID provider, and the pages that say why not.

Sign-in starts from a plain link (GET), never a form: the Content-Security-Policy's
``form-action 'self'`` would block a form whose answer redirects to the provider
(../shared/NOTES.md). Sign-out is a local POST; the provider's end-session address is then
opened from a page of Keyledger's own, for the same reason.
"""

import logging

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from requests import RequestException

from .oidc import end_session_url, oidc_client, oidc_enabled, verified_claims
from .signin import SignInRefused, person_for_claims

log = logging.getLogger("keyledger.sso")
SESSION_BACKEND = "sso.backends.OidcSessionBackend"
NEXT_KEY = "sso_next"
ID_TOKEN_KEY = "sso_id_token"
LOGOUT_KEY = "sso_logout_url"
# reason -> (HTTP status, headline); the template words each case and names who to ask.
PROBLEMS = {
    "provider_down": (503, "The identity provider cannot be reached"),
    "provider_refused": (400, "The identity provider did not sign you in"),
    "state_mismatch": (400, "This sign-in could not be matched to one Keyledger started"),
    "invalid_token": (400, "The identity provider's answer did not pass Keyledger's checks"),
    "unverified_email": (403, "Your e-mail address is not verified"),
    "unknown_person": (403, "Keyledger does not know you yet"),
    "inactive": (403, "Your Keyledger account is deactivated"),
    "not_configured": (404, "Sign-in through an identity provider is not set up"),
}


def sign_in_problem(request, reason: str, detail: str = ""):
    status, headline = PROBLEMS[reason]
    return render(request, "sso/problem.html", {
        "reason": reason, "headline": headline, "detail": detail,
        "provider": settings.KEYLEDGER_OIDC_PROVIDER_NAME,
        "contact": settings.KEYLEDGER_HELP_CONTACT,
    }, status=status)


@never_cache
@require_GET
def oidc_sign_in(request):
    """Send the browser to the provider (Authorization Code with PKCE, state and nonce kept
    in the session)."""
    if not oidc_enabled():
        return sign_in_problem(request, "not_configured")
    wanted = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        request.session[NEXT_KEY] = wanted
    try:
        return oidc_client().authorize_redirect(
            request, request.build_absolute_uri(reverse("oidc-callback")))
    except RequestException as exc:
        log.warning("OpenID provider unreachable at sign-in: %s", type(exc).__name__)
        return sign_in_problem(request, "provider_down")


@never_cache
@require_GET
def oidc_callback(request):
    """The provider's answer: check it, find the person, sign them in."""
    if not oidc_enabled():
        return sign_in_problem(request, "not_configured")
    try:
        claims, id_token = verified_claims(request)
        person = person_for_claims(claims=claims, issuer=settings.KEYLEDGER_OIDC_ISSUER)
    except SignInRefused as exc:
        log.log(logging.WARNING if exc.reason in ("invalid_token", "provider_down")
                else logging.INFO, "OpenID sign-in refused: %s %s", exc.reason, exc.detail)
        return sign_in_problem(request, exc.reason, exc.detail)
    wanted = request.session.pop(NEXT_KEY, "")
    login(request, person, backend=SESSION_BACKEND)
    request.session[ID_TOKEN_KEY] = id_token
    return redirect(wanted or settings.LOGIN_REDIRECT_URL)


@require_POST
def sign_out(request):
    """End the Keyledger session; then, when the person signed in through a provider that
    offers RP-initiated logout, the provider's too (from the signed-out page)."""
    id_token = request.session.get(ID_TOKEN_KEY)
    logout(request)
    if not (id_token and oidc_enabled()):
        return redirect(settings.LOGOUT_REDIRECT_URL)
    try:
        url = end_session_url(id_token=id_token,
                              post_logout_redirect_uri=request.build_absolute_uri(
                                  reverse(settings.LOGOUT_REDIRECT_URL)))
    except RequestException:
        url = ""
    if not url:
        return redirect(settings.LOGOUT_REDIRECT_URL)
    request.session[LOGOUT_KEY] = url
    return redirect("oidc-signed-out")


@never_cache
@require_GET
def signed_out(request):
    """Says the Keyledger session is over and opens the provider's sign-out page."""
    url = request.session.pop(LOGOUT_KEY, "")
    if not url:
        return redirect(settings.LOGOUT_REDIRECT_URL)
    return render(request, "sso/signed_out.html", {
        "end_session_url": url, "provider": settings.KEYLEDGER_OIDC_PROVIDER_NAME})


class SignInView(LoginView):
    """Django's password sign-in page, offering the provider first when one is configured
    (``PasswordSignInBackend`` then refuses all but the break-glass accounts)."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "oidc_enabled": oidc_enabled(),
                "oidc_provider": settings.KEYLEDGER_OIDC_PROVIDER_NAME}
