from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "AWS key governance"

    def ready(self):
        from . import receivers  # noqa: F401  (connect the receivers)
