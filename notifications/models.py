"""What Keyledger has told whom: the outbox, which is also the memory that prevents repeats.

A row is written *before* a message leaves (the unique constraints make that write the
claim, so two workers running the same schedule cannot both send), and ``sent_at`` is set
once it has left. A message that could not be sent has its claim removed and is tried again
on the next run.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    ROTATION_DUE = "rotation_due", "Rotation due soon"
    ROTATION_OVERDUE = "rotation_overdue", "Rotation overdue"
    UNUSED = "unused", "Unused key"
    PURPOSE_REVIEW = "purpose_review", "Purpose review due"
    EXCEPTION_EXPIRING = "exception_expiring", "Exception expiring"
    EXCEPTION_EXPIRED = "exception_expired", "Exception expired"
    KEY_ASSIGNED = "key_assigned", "Key assigned"
    EXCEPTION_REQUESTED = "exception_requested", "Exception awaiting decision"
    EXCEPTION_DECIDED = "exception_decided", "Exception decided"
    OWNER_NUDGE = "owner_nudge", "Reminder from the security team"
    CRITICAL_FINDING = "critical_finding", "Critical finding"
    KEY_EXPOSED = "key_exposed", "Key exposed"
    MANAGER_DIGEST = "manager_digest", "Manager digest"
    SECURITY_SUMMARY = "security_summary", "Security weekly summary"
    ISSUANCE_REQUESTED = "issuance_requested", "Issuance request awaiting decision"
    ISSUANCE_DECIDED = "issuance_decided", "Issuance request decided"
    KEY_WITHOUT_REQUEST = "key_without_request", "Key issued without a request"
    PLAN_OVERDUE = "plan_overdue", "Migration plan overdue"
    UNEXPECTED_SOURCE = "unexpected_source", "Key used from an undeclared source"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    CHAT = "chat", "Chat webhook"


class Notification(models.Model):
    """One message to one person (e-mail) or to the team's chat channel (no recipient).

    ``subject`` names what it is about (``key:12``, ``exception:3``, ``digest``) and
    ``period`` the reminder period (a date, an ISO week, a month): one message per recipient,
    kind, subject and period, ever.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="notifications")
    address = models.CharField(max_length=254, help_text="The e-mail address or 'chat'.")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    subject = models.CharField(max_length=60)
    period = models.CharField(max_length=40)
    title = models.CharField(max_length=300)
    body = models.TextField()
    url = models.CharField(max_length=1000, help_text="Where the recipient acts.")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject", "period"],
                condition=Q(recipient__isnull=False), name="one_notification_per_period"),
            models.UniqueConstraint(
                fields=["channel", "kind", "subject", "period"],
                condition=Q(recipient__isnull=True), name="one_chat_post_per_period"),
            models.CheckConstraint(
                condition=Q(channel="email", recipient__isnull=False)
                | Q(channel="chat", recipient__isnull=True),
                name="email_has_recipient_chat_has_none"),
        ]
        indexes = [models.Index(fields=["-sent_at"]), models.Index(fields=["kind", "period"])]

    def __str__(self):
        return f"{self.kind} {self.subject} {self.period} to {self.address}"


class NotificationPreference(models.Model):
    """A person's choice about optional mail. Reminders about their own keys and critical
    findings are not optional, so the only switch is for digests."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                  on_delete=models.CASCADE, related_name="notification_preference")
    digests = models.BooleanField(
        default=True, help_text="Receive the managers' daily digest and the security team's "
                                "weekly summary.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.person}: digests {'on' if self.digests else 'off'}"
