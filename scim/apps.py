from django.apps import AppConfig


class ScimConfig(AppConfig):
    """SCIM 2.0 provisioning of people, managers and role groups at /scim/v2/ (issue 15)."""

    name = "scim"
    verbose_name = "SCIM provisioning"
