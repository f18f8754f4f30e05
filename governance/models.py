"""What Keyledger knows about AWS: accounts, IAM users, access keys, policies and sync runs.

Rows mirror AWS as of the last complete sync. Nothing that disappears from AWS is deleted
here: it gets ``removed_at``, so history (and later, findings and audit) keep their subject.
"""

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from .choices import (
    ELEMENT_CHOICES,
    FINDING_CODE_CHOICES,
    RISK_SEVERITY,
    SEVERITY_CHOICES,
    Compliance,
    key_risk_expression,
)

FINDING_TITLES = dict(FINDING_CODE_CHOICES)

# Character classes are spelled out: Python's \d and \w also match non-ASCII digits and letters.
ACCOUNT_ID_VALIDATOR = RegexValidator(r"^[0-9]{12}$", "An AWS account id is exactly 12 digits.")
ROLE_ARN_VALIDATOR = RegexValidator(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$",
    "Enter an IAM role ARN such as arn:aws:iam::123456789012:role/KeyledgerReader.",
)
ROOT_USER_NAME = "<root_account>"


class AwsAccountQuerySet(models.QuerySet):
    def visible_to(self, person) -> "AwsAccountQuerySet":
        """Every account for the security team; for anyone else only the accounts holding a
        key they can see, so that neither a list of accounts nor the answer to a guessed
        account id reveals an account outside their scope."""
        if not (person and person.is_authenticated and person.is_active):
            return self.none()
        if person.is_security:
            return self
        return self.filter(pk__in=AccessKey.objects.visible_to(person).values("account_id"))


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
    keys_listed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Start of the last sync that listed every key holder's keys; the others "
                  "list only users whose credential-report slots changed.",
    )

    objects = AwsAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "account_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_id__regex=r"^[0-9]{12}$"), name="account_id_12_digits"
            ),
        ]
        # Lists sort keys by account name: walking accounts in this order lets Postgres
        # stop after one page instead of sorting every key.
        indexes = [models.Index(fields=["name", "account_id"], name="account_name_idx")]

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


class AccessKeyQuerySet(models.QuerySet):
    def visible_to(self, person) -> "AccessKeyQuerySet":
        """The one place key visibility is decided (DESIGN.md "Three kinds of people").

        The security team sees every key; a manager sees their own keys and their reports';
        anyone else sees the keys they own. Anonymous or inactive people see nothing.
        """
        if not (person and person.is_authenticated and person.is_active):
            return self.none()
        if person.is_security:
            return self
        if person.is_manager:
            return self.filter(Q(owner=person) | Q(owner__manager=person))
        return self.filter(owner=person)


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
    # Ownership assigned in Keyledger (by the security team, or by registering a purpose).
    assigned_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_keys",
    )
    # Written by the evaluation, so lists, filters and exports need no recomputation.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="owned_keys", help_text="The resolved owner (assignment, then tag).",
    )
    owner_gap = models.CharField(max_length=300, blank=True,
                                 help_text="Why no owner resolves, when none does.")
    compliance = models.CharField(max_length=20, blank=True, choices=Compliance.choices)
    open_codes = models.CharField(max_length=400, blank=True,
                                  help_text="Open, not excepted finding codes, sorted, ';'.")
    # Derived by the database from ``open_codes``: the inventory sorts and filters by it.
    risk = models.GeneratedField(expression=key_risk_expression(),
                                 output_field=models.PositiveSmallIntegerField(),
                                 db_persist=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    objects = AccessKeyQuerySet.as_manager()

    if TYPE_CHECKING:
        # Present only on keys loaded by the selector named (a Prefetch's ``to_attr``, an
        # annotation); declared so the code that reads them is type-checked.
        open_findings: list["Finding"]  # selectors.keys.open_findings_prefetch
        open_exceptions: list["ExceptionRequest"]  # selectors.keys._present_keys_with_requests
        purpose_category: str | None  # selectors.keys.with_export_columns
        rotation_state: str  # selectors.rotation.rotation_listing

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
        indexes = [models.Index(fields=["account", "status"]),
                   models.Index(fields=["compliance"]),
                   # Inventory sorts by age and last use over the keys still in AWS.
                   models.Index(fields=["created_at", "id"], name="key_present_created_idx",
                                condition=Q(removed_at__isnull=True)),
                   models.Index(fields=["last_used_at", "id"], name="key_present_used_idx",
                                condition=Q(removed_at__isnull=True)),
                   # The inventory's default order: worst risk first, then oldest.
                   models.Index(models.F("risk").desc(), "created_at", "id",
                                name="key_present_risk_idx",
                                condition=Q(removed_at__isnull=True))]

    def __str__(self):
        return self.access_key_id or f"{self.label} @ {self.account.account_id}"

    @property
    def label(self) -> str:
        """The key as lists name it: its id, or ``root key N`` for a root key, whose id AWS
        does not show (N is its credential report slot)."""
        return self.access_key_id or f"root key {self.slot}"

    @property
    def open_code_list(self) -> list[str]:
        """The open, not excepted finding codes, for display."""
        return self.open_codes.split(";") if self.open_codes else []

    @property
    def open_code_titles(self) -> list[tuple[str, str]]:
        """(code, what it means in words) of each open, not excepted finding: pages show the
        words and keep the code, the public contract, in a tooltip."""
        return [(code, FINDING_TITLES.get(code, code)) for code in self.open_code_list]

    @property
    def severity(self) -> str:
        """The severity of the worst open finding of the key's own (``risk`` as a word, ''
        when none): what the inventory's severity column and filter show."""
        return RISK_SEVERITY.get(self.risk, "")

    @property
    def age_days(self) -> int | None:
        """Whole days since creation, as the rules count them."""
        from django.utils import timezone

        return None if self.created_at is None else (timezone.now() - self.created_at).days


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


class SyncAbandoned(Exception):
    """The run was expired as abandoned (no sign of life for the sync lock) before it could
    finish: another run may hold the account by now, so this one must store nothing."""

    def __init__(self, run: "SyncRun"):
        super().__init__(f"sync run {run.pk} was expired as abandoned before it could finish; "
                         "nothing was stored")
        self.run = run


class SyncRunFinished(RuntimeError):
    """A finished run was asked to change: a bug in the caller, never something to retry."""


class SyncRunQuerySet(models.QuerySet):
    def stale(self, *, now: datetime) -> "SyncRunQuerySet":
        """Running runs with no sign of life for the sync lock: their worker has stopped."""
        cutoff = now - timedelta(seconds=settings.KEYLEDGER_SYNC_LOCK_SECONDS)
        return self.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=cutoff)

    def abandon(self, *, now: datetime) -> int:
        """Fail these runs, if still running, as abandoned in one statement; returns how many
        (each releases its account)."""
        return self.filter(status=SyncRun.Status.RUNNING).update(**SyncRun.abandoned(now))


class SyncRun(models.Model):
    """One attempt to sync one account: its progress, cost and outcome.

    At most one run per account is ``running`` (a database constraint), which is the lock
    that keeps two workers from syncing the same account at once.

    A run changes state only through its methods: ``start`` claims the account, ``beat``
    reports progress, and ``succeed``, ``fail`` or ``abandon`` end it, once. Each ending is a
    conditional update of a still-running row, so a run expired as abandoned meanwhile is
    never overwritten: ``SyncAbandoned`` says so. Ending a run already ended in memory
    raises ``SyncRunFinished``.
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

    objects = SyncRunQuerySet.as_manager()

    COUNTS = ("users_seen", "users_created", "users_updated", "users_removed", "keys_seen",
              "keys_created", "keys_updated", "keys_removed", "rows_written")
    ABANDONED_ERROR = "The worker running this sync stopped without finishing; nothing was stored."

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

    @classmethod
    def start(cls, *, account: AwsAccount, trigger: str) -> "SyncRun":
        """Claim ``account`` with a new running run; IntegrityError while another run holds
        it (the one-running-run constraint is the lock)."""
        now = timezone.now()
        with transaction.atomic():
            return cls.objects.create(account=account, trigger=trigger, started_at=now,
                                      heartbeat_at=now, phase="starting")

    @staticmethod
    def abandoned(now: datetime) -> dict[str, Any]:
        """The columns of a run ended as abandoned (shared by ``abandon`` and the bulk
        ``SyncRunQuerySet.abandon``)."""
        return {"status": SyncRun.Status.FAILED, "failure_kind": SyncRun.FailureKind.ABANDONED,
                "finished_at": now, "phase": "", "error": SyncRun.ABANDONED_ERROR}

    def beat(self, phase: str) -> None:
        """Record what the run is doing now, a sign of life that keeps it from expiring.

        Not refused when the row was expired meanwhile: the run carries on, and its ending
        (``succeed``/``fail``) says it was abandoned.
        """
        self._refuse_if_finished("report progress on")
        self.phase, self.heartbeat_at = phase, timezone.now()
        SyncRun.objects.filter(pk=self.pk, status=SyncRun.Status.RUNNING).update(
            phase=phase, heartbeat_at=self.heartbeat_at)

    def succeed(self, *, counts: Any, calls: Counter) -> None:
        """End the run as succeeded with what it stored (``counts``: COUNTS attributes) and
        its AWS calls by action. Call in the transaction that stores, so SyncAbandoned rolls
        the storing back."""
        self._end(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now(), phase="",
                  **{name: getattr(counts, name) for name in self.COUNTS},
                  **self._cost(calls))

    def fail(self, *, kind: str, message: str, calls: Counter) -> None:
        """End the run as failed: ``kind`` a FailureKind, ``message`` for the person."""
        self._end(status=SyncRun.Status.FAILED, failure_kind=kind, error=message[:4000],
                  finished_at=timezone.now(), phase="", **self._cost(calls))

    def abandon(self, *, now: datetime | None = None) -> None:
        """End the run as abandoned: its worker stopped giving signs of life."""
        self._end(**self.abandoned(now or timezone.now()))

    @staticmethod
    def _cost(calls: Counter) -> dict[str, Any]:
        return {"aws_calls": sum(calls.values()), "aws_calls_by_action": dict(calls)}

    def _refuse_if_finished(self, what: str) -> None:
        if self.status != SyncRun.Status.RUNNING:
            raise SyncRunFinished(f"cannot {what} sync run {self.pk}: it has {self.status}")

    def _end(self, **columns: Any) -> None:
        """Write the ending ``columns`` if the stored run is still running, else reload it
        and raise SyncAbandoned (only an expiry ends another worker's run)."""
        self._refuse_if_finished(f"end ({columns['status']})")
        if not SyncRun.objects.filter(pk=self.pk, status=SyncRun.Status.RUNNING).update(
                **columns):
            self.refresh_from_db()
            raise SyncAbandoned(self)
        for name, value in columns.items():
            setattr(self, name, value)


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
    # The hash chain (governance.audit_chain): written by audit() under a lock, in id order.
    # A row put into the table any other way gets '' and breaks the chain visibly.
    prev_hash = models.CharField(max_length=64, default="", db_default="", editable=False,
                                 help_text="The previous event's hash (zeros for the first).")
    hash = models.CharField(max_length=64, default="", db_default="", editable=False,
                            help_text="SHA-256 of this event's content and prev_hash.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "-at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_id}"


class AuditVerification(models.Model):
    """One walk of the audit chain (``manage.py verify_audit`` or the hourly task): intact
    through ``head_event_id``, or the first broken link. Append-only, like the events.

    The newest intact one anchors the next walk: its head must still be there, unchanged.
    """

    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    events = models.PositiveIntegerField(help_text="Events checked before stopping.")
    head_event_id = models.BigIntegerField(null=True, blank=True,
                                           help_text="The last intact event.")
    head_hash = models.CharField(max_length=64, blank=True)
    broken_event_id = models.BigIntegerField(null=True, blank=True)
    broken_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        state = "intact" if self.ok else f"broken at #{self.broken_event_id}"
        return f"{self.checked_at:%Y-%m-%d %H:%M} {state}"


class AuditForwarding(models.Model):
    """How far the audit log has been shipped to one write-once sink (governance.audit_sink).

    Every event with an id up to ``last_event_id`` has been delivered; the next run ships the
    ones after it. A failed run changes only the failure fields, so nothing is skipped.
    """

    sink = models.CharField(max_length=300, unique=True,
                            help_text="Where to: s3://bucket/prefix or syslog+tcp://host:port.")
    last_event_id = models.BigIntegerField(default=0)
    shipped_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed runs in a row.")
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return f"{self.sink} through #{self.last_event_id}"


# -- governance state (findings, ownership, purpose, exceptions, history) ------------------

class Finding(models.Model):
    """One rule firing on one key, from when it opened until it was resolved.

    An open finding may be covered by an approved exception (``exception``); it still counts
    as open for "open since" and time-to-fix, but not for compliance or the export's codes.
    """

    key = models.ForeignKey(AccessKey, on_delete=models.CASCADE, related_name="findings")
    code = models.CharField(max_length=40, choices=FINDING_CODE_CHOICES)
    element = models.CharField(max_length=20, choices=ELEMENT_CHOICES)
    severity = models.CharField(max_length=10, choices=SEVERITY_CHOICES)
    reason = models.CharField(max_length=500)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    exception = models.ForeignKey("ExceptionRequest", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="covered_findings")

    class Meta:
        ordering = ["key", "code", "-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["key", "code"], condition=Q(resolved_at__isnull=True),
                                    name="one_open_finding_per_key_code"),
        ]
        indexes = [models.Index(fields=["code", "resolved_at"]),
                   # The inventory's finding filter and the per-code counts: open findings
                   # not covered by an exception.
                   models.Index(fields=["code", "key"], name="finding_open_code_idx",
                                condition=Q(resolved_at__isnull=True, exception__isnull=True)),
                   # The overview's top risks: the newest open critical findings, then the
                   # high ones, each read in the index's order (severity, then newest, ties
                   # by id) so a sync that opens thousands at one instant sorts nothing.
                   models.Index("severity", models.F("opened_at").desc(), models.F("id").desc(),
                                name="finding_open_top_risk_idx",
                                condition=Q(resolved_at__isnull=True, exception__isnull=True,
                                            severity__in=["critical", "high"]))]

    def __str__(self):
        return f"{self.code} on {self.key}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class PurposeCategory(models.TextChoices):
    CI_CD = "ci_cd", "CI/CD outside AWS"
    SAAS = "saas", "Third-party SaaS integration"
    ON_PREMISES = "on_premises", "On-premises workload"
    LOCAL_DEVELOPMENT = "local_development", "Local development"
    LEGACY = "legacy", "Legacy system"
    OTHER = "other", "Other"


class Registration(models.Model):
    """A key's registered purpose and the case for it being a key at all (DESIGN.md).

    New registrations supersede old ones, which are kept; the current one is the one with no
    ``superseded_at``. It stops counting when its review date passes.
    """

    key = models.ForeignKey(AccessKey, on_delete=models.CASCADE, related_name="registrations")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="registrations")
    category = models.CharField(max_length=30, choices=PurposeCategory.choices)
    runs_where = models.CharField(max_length=300, help_text="Where the key is used.")
    justification = models.TextField(max_length=4000)
    why_not_iam_role = models.TextField(max_length=2000)
    why_not_identity_center = models.TextField(max_length=2000)
    why_not_sts = models.TextField(max_length=2000,
                                   help_text="Why STS / IAM Roles Anywhere cannot serve.")
    source_restriction = models.CharField(max_length=500,
                                          help_text="Declared source (IP ranges, VPC endpoint).")
    # Structured form of the declared source (``governance.sources``): canonical CIDRs,
    # ``vpc-`` and ``vpce-`` ids. ``UNEXPECTED_SOURCE`` compares CloudTrail's addresses with
    # it; empty means nothing declared (no finding: ``NO_PURPOSE`` covers an unregistered key).
    declared_sources = models.JSONField(default=list, blank=True)
    rotation_procedure = models.TextField(max_length=2000)
    deactivation_contact = models.CharField(max_length=300,
                                            help_text="Who can deactivate it in an incident.")
    registered_at = models.DateTimeField()
    review_due_on = models.DateField()
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key", "-registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=Q(superseded_at__isnull=True),
                                    name="one_current_registration_per_key"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} for {self.key}"


class ExceptionRequestQuerySet(models.QuerySet):
    def visible_to(self, person) -> "ExceptionRequestQuerySet":
        """Security sees all; others see requests they made, may decide, or on visible keys."""
        if not (person and person.is_authenticated and person.is_active):
            return self.none()
        if person.is_security:
            return self
        visible_keys = AccessKey.objects.visible_to(person).values("pk")
        return self.filter(Q(requested_by=person) | Q(key__in=visible_keys)
                           | self._decidable_q(person)).distinct()

    def awaiting_decision_by(self, person) -> "ExceptionRequestQuerySet":
        """Pending requests this person may decide (never their own, nor on keys they own)."""
        if not (person and person.is_authenticated and person.is_active):
            return self.none()
        pending = (self.filter(status="requested").exclude(requested_by=person)
                   .exclude(key__owner=person))
        if person.is_security:
            return pending
        return pending.filter(self._decidable_q(person))

    @staticmethod
    def _decidable_q(person) -> Q:
        q = Q(requested_by__manager=person)
        if person.is_manager:
            q |= Q(requested_by__manager__isnull=True)
        return q


class ExceptionRequest(models.Model):
    """A request to waive one waivable finding on one key until an expiry date."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    OPEN_STATUSES = (Status.REQUESTED, Status.APPROVED)

    key = models.ForeignKey(AccessKey, on_delete=models.CASCADE, related_name="exceptions")
    code = models.CharField(max_length=40)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="exception_requests")
    justification = models.TextField(max_length=4000)
    expires_on = models.DateField(help_text="Last day the exception covers.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="exception_decisions")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The key's resolved owner when the decision was recorded (Postgres: written by a
    # trigger from the key row, migration 0012); never the decider. Empty when the key had
    # no owner, and for decisions recorded before 0012.
    key_owner_at_decision = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False,
        on_delete=models.PROTECT, related_name="+")
    decision_note = models.TextField(max_length=2000, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ExceptionRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "code"], condition=Q(status__in=["requested", "approved"]),
                name="one_open_exception_per_key_code",
            ),
            models.CheckConstraint(condition=~Q(decided_by=models.F("requested_by")),
                                   name="exception_not_self_decided"),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected"],
                             decided_by=models.F("key_owner_at_decision")),
                name="exception_not_decided_by_key_owner"),
        ]
        indexes = [models.Index(fields=["status", "expires_on"])]

    def __str__(self):
        return f"{self.code} on {self.key} ({self.status})"


class DailySnapshot(models.Model):
    """Counts for trend charts: one row per day, account, dimension and value."""

    class Dimension(models.TextChoices):
        KEYS = "keys", "Active keys"
        COMPLIANCE = "compliance", "Keys by compliance"
        CODE = "code", "Open findings by code"
        ELEMENT = "element", "Keys failing an element"

    day = models.DateField()
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="snapshots")
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    name = models.CharField(max_length=40)
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-day", "account", "dimension", "name"]
        constraints = [
            models.UniqueConstraint(fields=["day", "account", "dimension", "name"],
                                    name="one_snapshot_count_per_day"),
        ]
        # The overview reads one dimension over a range of days (the trend) or one day; name
        # and count are key columns, not INCLUDE ones, so the index serves index-only scans
        # on Postgres and means the same on SQLite (the demo), which has no INCLUDE.
        indexes = [models.Index(fields=["dimension", "day", "name", "count"],
                                name="snapshot_dim_day_name_idx")]

    def __str__(self):
        return f"{self.day} {self.account_id} {self.dimension}:{self.name}={self.count}"
