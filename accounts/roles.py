"""The two roles a person can hold, as Django groups (DESIGN.md "Three kinds of people")."""

from django.db import models


class Role(models.TextChoices):
    SECURITY = "security", "Security team"
    MANAGER = "manager", "Manager"


def is_security(person) -> bool:
    """Whether ``person`` is signed in, active and on the security team."""
    return bool(person and person.is_authenticated and person.is_active and person.is_security)
