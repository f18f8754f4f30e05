"""Usage evidence: per access key and day, what CloudTrail shows the key did and from where.

Rows are keyed by the access key id, not by a foreign key to ``governance.AccessKey``: the
trail shows keys the inventory does not have yet (created since the last sync, or in an
account not registered), and their evidence must not be lost. A key is linked by id when
it is read (``AccessKey.access_key_id`` is indexed), so a key that a later sync adds finds
its history with nothing to backfill. Raw events are never stored, only these counts.
"""

from django.db import models


class KeyUsageDayQuerySet(models.QuerySet):
    def for_key(self, access_key_id: str, *, since=None):
        """The key's days, oldest first; from ``since`` (a date) when given."""
        rows = self.filter(access_key_id=access_key_id)
        if since is not None:
            rows = rows.filter(day__gte=since)
        return rows.order_by("day")


class KeyUsageDay(models.Model):
    """One key's calls on one UTC day. The maps count events per value, e.g.
    ``actions = {"s3:GetObject": 12}``; each holds at most ``evidence.usage.MAX_DISTINCT``
    values, the rest counted under ``"(other)"``."""

    access_key_id = models.CharField(max_length=128)
    account_id = models.CharField(max_length=12, blank=True,
                                  help_text="The key's account, as CloudTrail names it.")
    day = models.DateField()
    events = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)
    user_agents = models.JSONField(default=dict)
    event_sources = models.JSONField(default=dict)
    actions = models.JSONField(default=dict)
    regions = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KeyUsageDayQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["access_key_id", "day"],
                                               name="evidence_usage_day_once")]
        indexes = [models.Index(fields=["day"], name="evidence_usage_day_day")]

    def __str__(self) -> str:
        return f"{self.access_key_id} {self.day}: {self.events} events"


class KeyUsageAddress(models.Model):
    """One source address of one key on one day: an IP address, or the name of the AWS
    service that called for the key (``via_aws_service``). ``actions`` counts its calls per
    action (at most ``evidence.usage.MAX_ADDRESS_ACTIONS`` values, the rest under
    ``"(other)"``): what ``UNEXPECTED_SOURCE`` says an undeclared address did.
    ``vpc_endpoint_id`` is the VPC endpoint every call from it that day came through, ''
    when none or not always the same one (a declared endpoint covers only such calls)."""

    access_key_id = models.CharField(max_length=128)
    day = models.DateField()
    address = models.CharField(max_length=128)
    via_aws_service = models.BooleanField(default=False)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    events = models.PositiveBigIntegerField(default=0)
    actions = models.JSONField(default=dict)
    vpc_endpoint_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["access_key_id", "day", "address"],
                                               name="evidence_usage_address_once")]
        indexes = [models.Index(fields=["day"], name="evidence_usage_address_day")]

    def __str__(self) -> str:
        return f"{self.access_key_id} {self.day} {self.address}: {self.events}"


class TrailWatermark(models.Model):
    """Per account and region, the day listing starts from next time: every object of
    earlier days has been read (or recorded as malformed)."""

    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32)
    day = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "region"],
                                               name="evidence_watermark_once")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.region}: from {self.day}"


class TrailObject(models.Model):
    """A log file already read: recorded in the transaction that added its counts, so a
    batch read twice counts once. A malformed one is recorded with why, and skipped."""

    class Status(models.TextChoices):
        READ = "read", "Read"
        MALFORMED = "malformed", "Malformed"

    key = models.CharField(max_length=1024, unique=True)
    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32)
    day = models.DateField()
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=255, blank=True)
    records = models.PositiveIntegerField(default=0)
    events_kept = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account_id", "region", "day"],
                                name="evidence_object_where"),
                   models.Index(fields=["day"], name="evidence_object_day")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
