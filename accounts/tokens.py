"""Personal API tokens: created and revoked by their person (audited), checked on each request.

A token is ``kl_`` and 43 URL-safe characters (256 random bits). Only its sha256 digest is
stored: a fast hash is enough for a secret this long, which no one can guess or brute-force.
The first characters (``prefix``) are kept in clear to tell tokens apart and to find the
row; the digest is then compared in constant time. The secret is never logged or audited.
"""

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from core.audit import audit
from core.errors import GovernanceError, NotAllowed

from .models import ApiToken
from .roles import is_security

log = logging.getLogger("keyledger.api_tokens")

TOKEN_PREFIX = "kl_"
TOKEN_FORMAT = re.compile(r"^kl_[A-Za-z0-9_-]{43}$")
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
DEFAULT_DAYS = 30
LAST_USED_RESOLUTION = timedelta(minutes=1)


def max_days() -> int:
    return settings.KEYLEDGER_API_TOKEN_MAX_DAYS


def default_days() -> int:
    return min(DEFAULT_DAYS, max_days())


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_issue(model, *, actor, kind: str, prefix: str, name: str, days: int, **fields):
    """Make a hashed, expiring token row of ``model`` (an API or a SCIM token) and audit it as
    ``<kind>_token.create``; returns the row and the secret, which exists nowhere else.

    One place decides how a secret is made (256 random bits after ``prefix``), what is kept
    (its digest and a clear prefix) and what the audit says (never the secret)."""
    secret = prefix + secrets.token_urlsafe(32)
    now = timezone.now()
    token = model.objects.create(
        name=name[:100], prefix=secret[:len(prefix) + 8], digest=token_digest(secret),
        created_at=now, expires_at=now + timedelta(days=days), **fields)
    audit(actor=actor, action=f"{kind.lower()}_token.create", obj=token,
          summary=f"created {kind} token {token.name!r} ({token.prefix}…), "
                  f"expires {token.expires_at:%Y-%m-%d}",
          after={"name": token.name, "prefix": token.prefix,
                 "expires_at": token.expires_at.isoformat()})
    return token, secret


@transaction.atomic
def api_token_create(*, actor, name: str, days: int) -> tuple[ApiToken, str]:
    """A new token for ``actor`` and its secret, which exists nowhere else: show it once."""
    name = name.strip()
    if not (actor and actor.is_active):
        raise NotAllowed("inactive people cannot create API tokens")
    if not name:
        raise GovernanceError("give the token a name")
    if not 1 <= days <= max_days():
        raise GovernanceError(f"a token lasts between 1 and {max_days()} days")
    return token_issue(ApiToken, actor=actor, kind="API", prefix=TOKEN_PREFIX, name=name,
                       days=days, person=actor)


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Stop a token working now; revoking a revoked token changes nothing."""
    if actor.pk != token.person_id and not is_security(actor):
        raise NotAllowed("only the token's person or the security team can revoke it")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit(actor=actor, action="api_token.revoke", obj=token,
          summary=f"revoked API token {token.name!r} ({token.prefix}…) of {token.person.email}",
          before={"revoked_at": None}, after={"revoked_at": token.revoked_at.isoformat()})
    return token


def token_for_secret(secret: str) -> ApiToken | None:
    """The token row whose digest matches ``secret`` (compared in constant time), or None."""
    digest = token_digest(secret)
    candidates = ApiToken.objects.select_related("person").filter(prefix=secret[:PREFIX_LENGTH])
    for candidate in candidates:
        if hmac.compare_digest(candidate.digest, digest):
            return candidate
    return None


def _record_use(token: ApiToken, now) -> None:
    """Set ``last_used_at``, writing at most once a minute per token."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer kl_...``. No header (or another scheme): not this method's turn.

    Every refusal is a 401 with a short reason; none says more than that the token does not
    work unless the caller proved they hold it.
    """

    keyword = "bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: "
                                                  "use 'Bearer <token>'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not TOKEN_FORMAT.match(secret):
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = token_for_secret(secret)
        if token is None:
            log.info("API token refused: unknown token with prefix %s", secret[:PREFIX_LENGTH])
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        problem = self._refusal(token, now)
        if problem:
            log.info("API token refused: %s (token %s of person %s)", problem, token.prefix,
                     token.person_id)
            raise exceptions.AuthenticationFailed(f"Token {problem}.")
        _record_use(token, now)
        return token.person, token

    @staticmethod
    def _refusal(token: ApiToken, now) -> str:
        if token.revoked_at is not None:
            return "revoked"
        if token.expires_at <= now:
            return "expired"
        if not token.person.is_active:
            return "of an inactive person"
        return ""

    def authenticate_header(self, request):
        return 'Bearer realm="keyledger"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token in the OpenAPI schema (drf-spectacular finds it by class)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token (kl_...) from /me/api-tokens/."}
