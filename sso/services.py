"""The sign-in decisions worth an audit event, and the reads the overview shows of them."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.audit import audit
from governance.models import AuditEvent

BREAK_GLASS_ACTION = "auth.break_glass"


def break_glass_sign_in(*, person, address: str = "") -> None:
    """Record that a break-glass account signed in with a password while the OpenID
    provider is configured: the security team is to ask why (``recent_break_glass_uses``)."""
    audit(actor=person, action=BREAK_GLASS_ACTION, obj=person,
          summary=f"break-glass sign-in by {person.email} with a password"
                  f"{f' from {address}' if address else ''}",
          after={"method": "password", "address": address,
                 "issuer": settings.KEYLEDGER_OIDC_ISSUER})


def recent_break_glass_uses(*, days: int = 30, limit: int = 10):
    """The newest break-glass sign-ins of the last ``days`` days, newest first."""
    since = timezone.now() - timedelta(days=days)
    return list(AuditEvent.objects.filter(action=BREAK_GLASS_ACTION, at__gte=since)
                .order_by("-at")[:limit])
