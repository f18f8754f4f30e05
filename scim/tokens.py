"""SCIM bearer tokens: made like the personal API tokens (``accounts.tokens``: 256 random
bits, only a sha256 digest stored, a clear prefix to find the row, compared in constant
time) but with their own prefix and table, so a SCIM token opens /scim/v2/ only and an API
token never opens it."""

import hmac
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.tokens import LAST_USED_RESOLUTION, token_digest, token_issue
from core.errors import GovernanceError

from .models import ScimToken

log = logging.getLogger("keyledger.scim")
TOKEN_PREFIX = "kls_"
TOKEN_FORMAT = re.compile(r"^kls_[A-Za-z0-9_-]{43}$")
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


@transaction.atomic
def scim_token_create(*, actor=None, name: str, days: int) -> tuple[ScimToken, str]:
    """A new SCIM token and its secret, which exists nowhere else: show it once."""
    name = name.strip() or "SCIM provisioning"
    limit = settings.KEYLEDGER_SCIM_TOKEN_MAX_DAYS
    if not 1 <= days <= limit:
        raise GovernanceError(f"a SCIM token lasts between 1 and {limit} days")
    return token_issue(ScimToken, actor=actor, kind="SCIM", prefix=TOKEN_PREFIX, name=name,
                       days=days)


def scim_token_for_header(header: str | None) -> ScimToken | None:
    """The live token an ``Authorization: Bearer kls_...`` header carries, or None (unknown,
    malformed, revoked or expired: the caller answers 401 without saying which)."""
    scheme, _, secret = (header or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not TOKEN_FORMAT.match(secret):
        return None
    digest = token_digest(secret)
    now = timezone.now()
    for token in ScimToken.objects.filter(prefix=secret[:PREFIX_LENGTH]):
        if hmac.compare_digest(token.digest, digest):
            if token.revoked_at is not None or token.expires_at <= now:
                log.info("SCIM token refused: %s (%s)",
                         "revoked" if token.revoked_at else "expired", token.prefix)
                return None
            if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
                ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
            return token
    log.info("SCIM token refused: unknown token with prefix %s", secret[:PREFIX_LENGTH])
    return None
