from django.apps import AppConfig


class ReductionConfig(AppConfig):
    """Fewer keys (DESIGN.md): migration plans and the Identity Center / OIDC facts behind
    each key's way out."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reduction"
