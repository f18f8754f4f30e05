"""Notification writes: the scheduled sends, the sends that close a loop at once (exception
requested or decided, an owner nudged), and a person's digest preference."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.audit import audit
from core.errors import GovernanceError, NotAllowed
from governance.access import can_nudge_owner
from governance.models import AccessKey, AuditEvent

from .delivery import DeliveryResult, deliver
from .digests import manager_digests, security_summary
from .loops import exception_messages, nudge_message
from .models import NotificationPreference
from .owners import owner_messages, urgent_messages

# An owner is nudged about one key at most once in this long: a reminder, not a pager.
NUDGE_INTERVAL = timedelta(hours=24)

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


def exception_notices_send(*, exception_id: int) -> DeliveryResult:
    """Tell whoever must act next on the exception request: its deciders while it is
    pending, its requester once decided. Sending twice for one state is a no-op."""
    return deliver(exception_messages(exception_id))


def last_nudge(key: AccessKey, *, now=None) -> AuditEvent | None:
    """The nudge about ``key`` within the last ``NUDGE_INTERVAL``, if any (the audit log is
    the memory: a nudge whose mail failed still counts, so a failing mail server cannot be
    used to send a stream of reminders once it recovers)."""
    now = now or timezone.now()
    return (AuditEvent.objects.filter(action="key.nudge_owner", object_type="AccessKey",
                                      object_id=str(key.pk), at__gt=now - NUDGE_INTERVAL)
            .order_by("-at").first())


@transaction.atomic
def owner_nudge(*, actor, key: AccessKey, now=None) -> AuditEvent:
    """Remind the key's owner now (the gaps page's "Nudge owner"); audited, and refused
    within ``NUDGE_INTERVAL`` of the last nudge about the same key. The mail leaves once
    the audit event has committed."""
    if not can_nudge_owner(actor, key):
        raise NotAllowed("only the security team and managers overseeing the key nudge owners")
    now = now or timezone.now()
    # The key's row lock serialises two nudges at once: the second sees the first's event.
    key = (AccessKey.objects.select_for_update(of=("self",))
           .select_related("account", "user", "owner").get(pk=key.pk))
    if key.owner is None or not key.owner.is_active:
        raise GovernanceError("this key has no owner to remind: assign one instead")
    previous = last_nudge(key, now=now)
    if previous is not None:
        again = previous.at + NUDGE_INTERVAL
        raise GovernanceError(f"{key.owner.email} was reminded about {key} at "
                              f"{previous.at:%Y-%m-%d %H:%M} UTC; the next reminder can go "
                              f"after {again:%Y-%m-%d %H:%M} UTC")
    event = audit(actor=actor, action="key.nudge_owner", obj=key, at=now,
                  summary=f"reminded {key.owner.email} about {key}",
                  after={"owner": key.owner.email, "open": key.open_code_list})
    message = nudge_message(key=key, event=event)
    transaction.on_commit(lambda: deliver([message]))
    return event
