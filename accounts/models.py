"""People: the humans who own keys, approve exceptions and run the security team."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from .identity import normalise_email
from .reporting_lines import describe_cycle, manager_cycle
from .roles import Role


class PersonManager(BaseUserManager):
    """Creates people keyed by e-mail; e-mails are compared case-insensitively."""

    use_in_migrations = True

    def get_by_natural_key(self, email):
        """The person whose e-mail is ``email`` in any case, width or surrounding spaces."""
        return self.alias(email_lower=Lower("email")).get(email_lower=normalise_email(email))

    def create_user(self, email, password=None, **fields):
        email = normalise_email(email)
        if not email:
            raise ValueError("A person needs an e-mail address.")
        person = self.model(email=email, **fields)
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

    @classmethod
    def normalize_username(cls, username):
        """Forms (the admin's included) store the e-mail in its one spelling."""
        return normalise_email(username)

    def clean(self):
        """The e-mail in its one spelling; a manager that closes no loop (a -> b -> a)."""
        super().clean()
        loop = manager_cycle(self, self.manager) if self.manager_id else []
        if loop:
            raise ValidationError({"manager": f"manager loop: {describe_cycle(loop)}"})

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


class HashedToken(models.Model):
    """A bearer secret kept only as a sha256 digest, shown once at creation, expiring.

    ``prefix`` (the first characters of the secret) is not secret: it tells tokens apart on
    a page and narrows the lookup before the constant-time digest comparison
    (``accounts.tokens``). Personal API tokens and SCIM tokens differ only in what they open
    and whom they belong to, so the fields and the lifecycle live here once.
    """

    name = models.CharField(max_length=100, help_text="What the token is for.")
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the secret")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def state(self, now) -> str:
        """``revoked``, ``expired`` or ``active`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class ApiToken(HashedToken):
    """A personal API token: the person's own access, for scripts, until it expires."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="api_tokens")

    class Meta(HashedToken.Meta):
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")),
                                   name="api_token_expires_after_creation"),
        ]
