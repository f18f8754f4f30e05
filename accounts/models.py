"""People: the humans who own keys, approve exceptions and run the security team."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower

from .roles import Role


class PersonManager(BaseUserManager):
    """Creates people keyed by e-mail; e-mails are compared case-insensitively."""

    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("A person needs an e-mail address.")
        person = self.model(email=self.normalize_email(email).lower(), **fields)
        person.set_password(password)
        person.save(using=self._db)
        return person

    def create_superuser(self, email, password=None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class Person(AbstractBaseUser, PermissionsMixin):
    """A signed-in human. The e-mail is the login and the value owner tags point at."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports",
        help_text="Decides this person's exception requests (with the security team).",
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive people cannot sign in and own no keys."
    )
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(auto_now_add=True)

    objects = PersonManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["email"]
        verbose_name = "person"
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="person_email_ci_unique"),
            models.CheckConstraint(
                condition=~models.Q(manager=models.F("id")), name="person_not_own_manager"
            ),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email

    def has_role(self, role: Role) -> bool:
        """True when the person is active and in the role's group (cached per instance)."""
        if not self.is_active:
            return False
        if not hasattr(self, "_role_names"):
            self._role_names = set(self.groups.values_list("name", flat=True))
        return role.value in self._role_names

    @property
    def is_security(self) -> bool:
        return self.has_role(Role.SECURITY)

    @property
    def is_manager(self) -> bool:
        return self.has_role(Role.MANAGER)
