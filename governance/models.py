"""What Keyledger knows about AWS: accounts, IAM users, access keys, policies and sync runs.

Rows mirror AWS as of the last complete sync. Nothing that disappears from AWS is deleted
here: it gets ``removed_at``, so history (and later, findings and audit) keep their subject.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

ACCOUNT_ID_VALIDATOR = RegexValidator(r"^\d{12}$", "An AWS account id is exactly 12 digits.")
ROLE_ARN_VALIDATOR = RegexValidator(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "Enter an IAM role ARN such as arn:aws:iam::123456789012:role/KeyledgerReader.",
)
ROOT_USER_NAME = "<root_account>"


class AwsAccount(models.Model):
    """An AWS account Keyledger reads, and the account-level facts the rules need."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        ORGANIZATIONS = "organizations", "Discovered in AWS Organizations"

    account_id = models.CharField(max_length=12, unique=True, validators=[ACCOUNT_ID_VALIDATOR])
    name = models.CharField(max_length=200)
    role_arn = models.CharField(
        max_length=600, blank=True, validators=[ROLE_ARN_VALIDATOR],
        help_text="Role assumed to read this account; empty means the ambient credentials.",
    )
    external_id = models.CharField(max_length=1224, blank=True)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(
        null=True, blank=True, help_text="End of the last successful sync."
    )
    # Account-level facts, from GetAccountSummary / the credential report and CloudTrail.
    root_keys_present = models.BooleanField(null=True, blank=True)
    cloudtrail_logging = models.BooleanField(
        null=True, blank=True, help_text="A multi-region trail is logging."
    )
    cloudtrail_trails = models.JSONField(default=list, blank=True)
    credential_report_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "account_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_id__regex=r"^[0-9]{12}$"), name="account_id_12_digits"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.account_id})"


class PolicyDocument(models.Model):
    """An IAM policy document, stored once however many users and accounts share it."""

    digest = models.CharField(max_length=64, primary_key=True, help_text="sha256 of the JSON")
    document = models.JSONField()
    first_seen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.digest[:12]


class AwsManagedPolicy(models.Model):
    """Cache of AWS-managed policy documents, identical in every account."""

    arn = models.CharField(max_length=600, primary_key=True)
    version_id = models.CharField(max_length=20)
    document = models.ForeignKey(PolicyDocument, on_delete=models.PROTECT)
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = "AWS-managed policy"
        verbose_name_plural = "AWS-managed policies"

    def __str__(self):
        return self.arn


class IamUser(models.Model):
    """An IAM user (or the account root, named ``<root_account>``) and what it may do.

    ``policies`` summarises every policy that applies: a list of
    ``{"source", "name", "arn", "group", "digest"}`` where ``source`` is one of
    ``user-inline``, ``user-attached``, ``group-inline``, ``group-attached`` and ``digest``
    names a PolicyDocument, enough for the rule engine to evaluate IAM semantics.
    """

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="iam_users")
    user_id = models.CharField(max_length=128, help_text="AWS UserId; the account id for root.")
    name = models.CharField(max_length=128)
    arn = models.CharField(max_length=2048)
    path = models.CharField(max_length=512, default="/")
    created_at = models.DateTimeField(null=True, blank=True)
    password_enabled = models.BooleanField(default=False)
    password_last_used_at = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    group_names = models.JSONField(default=list, blank=True)
    policies = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "name"]
        verbose_name = "IAM user"
        constraints = [
            models.UniqueConstraint(fields=["account", "user_id"], name="iam_user_unique_id"),
        ]
        indexes = [models.Index(fields=["account", "name"])]

    def __str__(self):
        return f"{self.name} @ {self.account.account_id}"

    @property
    def is_root(self) -> bool:
        return self.name == ROOT_USER_NAME


class AccessKey(models.Model):
    """One access key. Root keys have no visible id: they are identified by their slot."""

    class Status(models.TextChoices):
        ACTIVE = "Active", "Active"
        INACTIVE = "Inactive", "Inactive"

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="access_keys")
    user = models.ForeignKey(IamUser, on_delete=models.CASCADE, related_name="access_keys")
    access_key_id = models.CharField(max_length=128, null=True, blank=True)
    slot = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Credential report slot (1 or 2), for root keys."
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    created_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_service = models.CharField(max_length=128, blank=True)
    last_used_region = models.CharField(max_length=64, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "user__name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["access_key_id"], condition=Q(access_key_id__isnull=False),
                name="access_key_unique_id",
            ),
            models.UniqueConstraint(
                fields=["user", "slot"], condition=Q(access_key_id__isnull=True),
                name="root_key_unique_slot",
            ),
            models.CheckConstraint(
                condition=Q(access_key_id__isnull=False) | Q(slot__isnull=False),
                name="access_key_has_id_or_slot",
            ),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self):
        return self.access_key_id or f"root key {self.slot} @ {self.account.account_id}"


class AccessKeyEvent(models.Model):
    """A change in a key's life seen by a sync: created, status changed, removed, reappeared."""

    class Kind(models.TextChoices):
        APPEARED = "appeared", "Appeared"
        ACTIVATED = "activated", "Activated"
        DEACTIVATED = "deactivated", "Deactivated"
        REMOVED = "removed", "Removed from AWS"
        REAPPEARED = "reappeared", "Reappeared"

    key = models.ForeignKey(AccessKey, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    sync_run = models.ForeignKey("SyncRun", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["key", "at"]

    def __str__(self):
        return f"{self.key} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class SyncRun(models.Model):
    """One attempt to sync one account: its progress, cost and outcome.

    At most one run per account is ``running`` (a database constraint), which is the lock
    that keeps two workers from syncing the same account at once.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        COMMAND = "command", "Command line"

    class FailureKind(models.TextChoices):
        ACCESS_DENIED = "access_denied", "Access denied"
        THROTTLED = "throttled", "Throttled"
        TIMEOUT = "timeout", "Timed out"
        CREDENTIALS = "credentials", "Credentials"
        BAD_DATA = "bad_data", "Unreadable answer"
        ABANDONED = "abandoned", "Worker stopped"
        ERROR = "error", "Error"

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=60, blank=True, help_text="What the run is doing now.")
    heartbeat_at = models.DateTimeField(help_text="Last sign of life; stale runs are expired.")
    users_seen = models.PositiveIntegerField(default=0)
    users_created = models.PositiveIntegerField(default=0)
    users_updated = models.PositiveIntegerField(default=0)
    users_removed = models.PositiveIntegerField(default=0)
    keys_seen = models.PositiveIntegerField(default=0)
    keys_created = models.PositiveIntegerField(default=0)
    keys_updated = models.PositiveIntegerField(default=0)
    keys_removed = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    aws_calls = models.PositiveIntegerField(default=0)
    aws_calls_by_action = models.JSONField(default=dict, blank=True)
    failure_kind = models.CharField(max_length=20, choices=FailureKind.choices, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="running"),
                name="one_running_sync_per_account",
            ),
        ]
        indexes = [models.Index(fields=["account", "-started_at"])]

    def __str__(self):
        return f"sync {self.account.account_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class AuditEvent(models.Model):
    """Who changed what, when, with the state before and after. Written by services only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="Empty for the system (schedules, syncs).",
    )
    actor_label = models.CharField(max_length=254, help_text="Who, kept if the person goes.")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=128)
    summary = models.CharField(max_length=500)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "-at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_id}"
