from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Sign-in through the organization's OpenID provider (issue 15)."""

    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self):
        from . import receivers  # noqa: F401  (break-glass sign-ins are audited)
