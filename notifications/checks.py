"""Deployment checks (``manage.py check --deploy``): links in e-mails must reach people."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def base_url_is_public_https(app_configs, **kwargs):
    """Notifications link to KEYLEDGER_BASE_URL; the development default reaches nobody."""
    parts = urlsplit(settings.KEYLEDGER_BASE_URL)
    if parts.scheme == "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return []
    return [Warning(
        f"KEYLEDGER_BASE_URL is {settings.KEYLEDGER_BASE_URL!r}: links in notifications will "
        "not reach people.", hint="Set it to the https address people open Keyledger at.",
        id="keyledger.W001")]
