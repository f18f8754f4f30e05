"""The one place that talks to the OpenID provider, through Authlib's Django client.

Authlib was chosen over mozilla-django-oidc and django-allauth (../shared/NOTES.md): it does
discovery, PKCE (S256) and checks the ID token's signature, issuer, audience, nonce and
expiry, and offers the provider's end-session endpoint for RP-initiated logout; mapping
claims to people stays in Keyledger (``sso.signin``).

Settings are read on every call so a test (or a reloaded configuration) that changes them
gets a client for the new provider; the client, with its cached discovery document and keys,
is kept per (issuer, client id, secret, scopes).
"""

from functools import lru_cache

from authlib.integrations.django_client import OAuth  # type: ignore[import-untyped]
from django.conf import settings

NAME = "keyledger_oidc"


def oidc_enabled() -> bool:
    """Whether sign-in goes through an OpenID provider (password sign-in then off, but for
    the break-glass accounts)."""
    return bool(settings.KEYLEDGER_OIDC_ISSUER)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


@lru_cache(maxsize=4)
def _client(issuer: str, client_id: str, client_secret: str, scopes: str):
    registry = OAuth()
    return registry.register(
        NAME, client_id=client_id, client_secret=client_secret,
        server_metadata_url=discovery_url(issuer),
        client_kwargs={"scope": scopes, "code_challenge_method": "S256",
                       "timeout": settings.KEYLEDGER_OIDC_TIMEOUT_SECONDS},
    )


def oidc_client():
    """Authlib's client for the configured provider (discovery happens on first use)."""
    return _client(settings.KEYLEDGER_OIDC_ISSUER, settings.KEYLEDGER_OIDC_CLIENT_ID,
                   settings.KEYLEDGER_OIDC_CLIENT_SECRET, " ".join(settings.KEYLEDGER_OIDC_SCOPES))


def end_session_url(*, id_token: str, post_logout_redirect_uri: str) -> str:
    """The provider's sign-out address for this session, or '' when it offers none
    (RP-initiated logout, OpenID Connect RP-Initiated Logout 1.0)."""
    from urllib.parse import urlencode

    client = oidc_client()
    endpoint = client.load_server_metadata().get("end_session_endpoint")
    if not endpoint:
        return ""
    query = urlencode({"id_token_hint": id_token, "client_id": client.client_id,
                       "post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
