"""Notification writes: the scheduled sends and a person's digest preference."""

from django.db import transaction
from django.utils import timezone

from .delivery import DeliveryResult, deliver
from .digests import manager_digests, security_summary
from .models import NotificationPreference
from .owners import owner_messages, urgent_messages

# Which messages each schedule sends (config/celery.py runs each on its own cadence).
GROUPS = {
    "owners": owner_messages,  # hourly: reminders, assignments, exposed keys, critical alerts
    "managers": manager_digests,  # daily
    "security": security_summary,  # weekly
    # Right after a sync opens a critical finding (receivers.py); a part of "owners".
    "urgent": urgent_messages,
}
SCHEDULED = ("owners", "managers", "security")


def notifications_send(*, groups=SCHEDULED, now=None) -> DeliveryResult:
    """Compose and send every due message of ``groups``; anything sent before is skipped."""
    now = now or timezone.now()
    messages = [message for group in groups for message in GROUPS[group](now=now)]
    return deliver(messages)


@transaction.atomic
def notification_preference_set(*, person, digests: bool) -> NotificationPreference:
    """Turn the person's digests on or off (reminders and critical alerts stay on)."""
    preference, _ = NotificationPreference.objects.update_or_create(
        person=person, defaults={"digests": digests})
    return preference
