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

from authlib.integrations.base_client.errors import (  # type: ignore[import-untyped]
    MismatchingStateError,
    OAuthError,
)
from authlib.integrations.django_client import OAuth  # type: ignore[import-untyped]
from django.conf import settings
from joserfc.errors import JoseError
from requests import RequestException

from .signin import SignInRefused

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


def verified_claims(request) -> tuple[dict, str]:
    """The claims of the provider's answer to this browser's sign-in, and the raw ID token.

    Authlib checks the state against the session, exchanges the code with the PKCE
    verifier, and checks the ID token (signature by the provider's published keys, issuer,
    audience, nonce, expiry). Claims the ID token lacks (the e-mail or groups, which some
    providers give only from userinfo) are read from userinfo. Anything wrong is a
    SignInRefused with the reason the person is shown.
    """
    client = oidc_client()
    try:
        token = client.authorize_access_token(request)
        if "id_token" not in token or "userinfo" not in token:
            raise SignInRefused("invalid_token", "no ID token in the provider's answer")
        claims = dict(token["userinfo"])
        if "email" not in claims or settings.KEYLEDGER_OIDC_GROUPS_CLAIM not in claims:
            claims = {**client.userinfo(token=token), **claims}
    except MismatchingStateError:
        raise SignInRefused("state_mismatch") from None
    except OAuthError as exc:
        raise SignInRefused("provider_refused", exc.error or "") from None
    except JoseError as exc:
        raise SignInRefused("invalid_token", str(exc)) from None
    except RequestException as exc:
        raise SignInRefused("provider_down", type(exc).__name__) from None
    return claims, token["id_token"]
