from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app may import: the audit trail and the errors a rule raises. No models."""

    name = "core"
    verbose_name = "Keyledger core"
