"""The two roles a person can hold, as Django groups (DESIGN.md "Three kinds of people")."""

from django.db import models


class Role(models.TextChoices):
    SECURITY = "security", "Security team"
    MANAGER = "manager", "Manager"
