"""Fewer keys (DESIGN.md): migration plans, and the facts read from AWS behind a key's way out.

Its own app (and migrations) so that reduction can grow without touching the inventory's
tables. A plan's state changes only through ``reduction.services`` (audited); the stored
Identity Center and OIDC facts are replaced wholesale by each read, so they are as fresh as
the last sync and never edited by hand.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.models import AccessKey, AwsAccount, ExceptionRequestQuerySet, PurposeCategory
from governance.way_out import Path

PATH_CHOICES = [(Path.IAM_ROLE.value, "IAM role"),
                (Path.IDENTITY_CENTER.value, "IAM Identity Center"),
                (Path.OIDC_FEDERATION.value, "OIDC federation"),
                (Path.ROLES_ANYWHERE.value, "IAM Roles Anywhere"),
                (Path.KEEP.value, "Keep (an exception)")]


class MigrationPlanQuerySet(models.QuerySet):
    def open(self) -> "MigrationPlanQuerySet":
        return self.exclude(state=MigrationPlan.State.DONE)

    def overdue(self, *, today) -> "MigrationPlanQuerySet":
        """Plans past their target date and not done: reminded to the owner, counted in
        the manager's digest and listed for the security team."""
        return self.open().filter(target_date__lt=today)

    def visible_to(self, person) -> "MigrationPlanQuerySet":
        """The plans of the keys ``person`` may see (``AccessKey.objects.visible_to``)."""
        return self.filter(key__in=AccessKey.objects.visible_to(person))


class MigrationPlan(models.Model):
    """How one key is to be replaced: a path, a target date, and how far it got.

    ``planned -> in_progress -> replaced`` (the key deactivated in AWS) ``-> done`` (the key
    deleted, confirmed by a sync, never by a button). One open plan per key.
    """

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        REPLACED = "replaced", "Replaced (key deactivated)"
        DONE = "done", "Done (key deleted)"

    key = models.ForeignKey(AccessKey, on_delete=models.CASCADE, related_name="migration_plans")
    path = models.CharField(max_length=20, choices=PATH_CHOICES)
    target_date = models.DateField()
    notes = models.TextField(max_length=4000, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PLANNED)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="migration_plans")
    opened_at = models.DateTimeField()
    state_changed_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    objects = MigrationPlanQuerySet.as_manager()

    class Meta:
        ordering = ["target_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(state="done"),
                                    name="one_open_migration_plan_per_key"),
            models.CheckConstraint(condition=Q(state__in=["planned", "in_progress",
                                                          "replaced", "done"]),
                                   name="migration_plan_state_valid"),
            models.CheckConstraint(condition=Q(path__in=[p.value for p in Path]),
                                   name="migration_plan_path_valid"),
            models.CheckConstraint(condition=Q(state="done", done_at__isnull=False)
                                   | (~Q(state="done") & Q(done_at__isnull=True)),
                                   name="migration_plan_done_when_done_at"),
        ]
        indexes = [models.Index(fields=["state", "target_date"])]

    def __str__(self) -> str:
        return f"{self.get_path_display()} for {self.key} ({self.get_state_display()})"


class IdentityCenterPerson(models.Model):
    """What the last Identity Center read said about one person, by e-mail (lower-cased).

    ``user_id`` empty: Identity Center has no user with that e-mail or user name. No row:
    not read (Identity Center not configured, or the person owns no key yet).
    """

    email = models.EmailField(max_length=254, unique=True)
    user_id = models.CharField(max_length=128, blank=True)
    user_name = models.CharField(max_length=254, blank=True)
    display_name = models.CharField(max_length=128, blank=True)
    read_at = models.DateTimeField()

    class Meta:
        ordering = ["email"]
        verbose_name = "Identity Center person"

    def __str__(self) -> str:
        return self.email


class IdentityCenterAssignment(models.Model):
    """A permission set a person holds on an account, directly or through a group."""

    person = models.ForeignKey(IdentityCenterPerson, on_delete=models.CASCADE,
                               related_name="assignments")
    account_id = models.CharField(max_length=12)
    permission_set_arn = models.CharField(max_length=2048)
    permission_set_name = models.CharField(max_length=128)
    via_group_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["person", "account_id", "permission_set_name"]
        constraints = [models.UniqueConstraint(
            fields=["person", "account_id", "permission_set_arn", "via_group_id"],
            name="identity_center_assignment_unique")]
        indexes = [models.Index(fields=["account_id"])]

    def __str__(self) -> str:
        return f"{self.permission_set_name} on {self.account_id} for {self.person}"


class OidcProviderListing(models.Model):
    """An account's IAM OIDC identity providers, as its last read listed them.

    ``providers``: a list of ``{"arn", "url", "client_ids"}`` (``url`` the issuer without
    ``https://``). No row: never read; an empty list: the account trusts no OIDC provider.
    """

    account = models.OneToOneField(AwsAccount, on_delete=models.CASCADE,
                                   related_name="oidc_provider_listing")
    providers = models.JSONField(default=list, blank=True)
    read_at = models.DateTimeField()

    class Meta:
        verbose_name = "OIDC provider listing"

    def __str__(self) -> str:
        return f"OIDC providers of {self.account.account_id}"

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(sorted(p["url"] for p in self.providers))


class IssuanceRequestQuerySet(models.QuerySet):
    def visible_to(self, person) -> "IssuanceRequestQuerySet":
        """Security sees every request; others see the ones they made or may decide."""
        if not (person and person.is_authenticated and person.is_active):
            return self.none()
        if person.is_security:
            return self
        if settings.KEYLEDGER_ISSUANCE_APPROVERS == "manager":
            return self.filter(Q(requested_by=person)
                               | ExceptionRequestQuerySet._decidable_q(person))
        return self.filter(requested_by=person)

    def awaiting_decision_by(self, person) -> "IssuanceRequestQuerySet":
        """Pending requests ``person`` may decide: never their own; the security team's, or
        (setting ``manager``) also those exception rules give them (``_decidable_q``)."""
        if not (person and person.is_authenticated and person.is_active):
            return self.none()
        pending = self.filter(state=IssuanceRequest.State.REQUESTED).exclude(requested_by=person)
        if person.is_security:
            return pending
        if settings.KEYLEDGER_ISSUANCE_APPROVERS == "manager":
            return pending.filter(ExceptionRequestQuerySet._decidable_q(person))
        return pending.none()


class IssuanceRequest(models.Model):
    """A request for a new access key, filed before the key exists (DESIGN.md "Fewer keys"):
    the five elements fixed first, the proposed policies judged by ``check_policy``.

    ``requested -> approved | rejected | withdrawn``; ``approved -> fulfilled`` when a sync
    finds a new key on the named user, created after the approval (``issued_key``), which
    then starts with a registration made from these answers.
    """

    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        FULFILLED = "fulfilled", "Fulfilled (key issued)"

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE,
                                related_name="issuance_requests")
    user_name = models.CharField(max_length=128, help_text="The IAM user the key is for.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="issuance_requests")
    category = models.CharField(max_length=30, choices=PurposeCategory.choices)
    runs_where = models.CharField(max_length=300)
    justification = models.TextField(max_length=4000)
    why_not_iam_role = models.TextField(max_length=2000)
    why_not_identity_center = models.TextField(max_length=2000)
    why_not_sts = models.TextField(max_length=2000)
    # As filed (a document or check_policy's list), and as judged: ``policies`` the list of
    # ``{"name", "kind", "document"}``, ``verdict`` check_policy's JSON line without ``file``.
    policy_text = models.TextField(max_length=20000)
    policies = models.JSONField(default=list)
    verdict = models.JSONField(default=dict)
    declared_sources = models.JSONField(default=list, blank=True)
    rotation_plan = models.TextField(max_length=2000)
    deactivation_contact = models.CharField(max_length=300)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="issuance_decisions")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(max_length=2000, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    issued_key = models.OneToOneField(AccessKey, null=True, blank=True,
                                      on_delete=models.SET_NULL,
                                      related_name="issuance_request")
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    objects = IssuanceRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(decided_by=models.F("requested_by")),
                                   name="issuance_not_self_decided"),
            # The key that appears is linked to exactly one request: one open per user.
            models.UniqueConstraint(fields=["account", "user_name"],
                                    condition=Q(state__in=["requested", "approved"]),
                                    name="one_open_issuance_per_user"),
            models.CheckConstraint(
                condition=Q(state__in=["requested", "approved", "rejected", "withdrawn",
                                       "fulfilled"]),
                name="issuance_state_valid"),
            models.CheckConstraint(
                condition=Q(state="fulfilled", fulfilled_at__isnull=False)
                | (~Q(state="fulfilled") & Q(fulfilled_at__isnull=True)),
                name="issuance_fulfilled_when_fulfilled_at"),
        ]
        indexes = [models.Index(fields=["account", "state"])]

    def __str__(self) -> str:
        return f"Issuance request #{self.pk} for {self.user_name} in {self.account.account_id}"

    @property
    def verdict_is_bad(self) -> bool:
        """The proposed policies would raise a Permissions or Source finding on the key."""
        return bool(self.verdict.get("admin") or self.verdict.get("escalation")
                    or not self.verdict.get("source_restricted", False))
