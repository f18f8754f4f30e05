"""Who must act on which key, and by when: the owners' reminders and the critical alerts.

Read from what the evaluation already stored (open findings, current registrations,
exceptions, audit events), so a reminder says exactly what the key's page says.

Periods, i.e. how often a condition that persists is repeated:

* rotation due soon, unused: once per finding (rotation), once a month (unused);
* rotation overdue: once a week until the key is rotated or an exception covers it;
* purpose review: once per review date; exception expiring / expired: once per exception;
* key assigned: once per assignment; critical finding: once per finding, to every member
  of the security team and the chat channel, whatever their digest preference;
* key exposed (AWS found it in public): once per finding, to the key's owner;
* key used from an undeclared source (``UNEXPECTED_SOURCE``): once per finding, to the key's
  owner and every member of the security team.

The critical alerts, the exposed-key notices and the undeclared-source notices are also sent
right after the sync, trail read or registration that opened them (:func:`urgent_messages`),
not at the next hourly run.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.urls import reverse

from accounts.models import Person
from accounts.roles import Role
from governance.models import AccessKey, AuditEvent, ExceptionRequest, Finding, Registration
from governance.needs import fix_for
from governance.policy import RULES, Severity

from .messages import Message, day_of, iso_week, month
from .models import Kind

# Finding code -> (kind, period of a finding opened at ``opened`` seen ``today``).
FINDING_REMINDERS = {
    "ROTATION_DUE": (Kind.ROTATION_DUE, lambda opened, today: day_of(opened)),
    "ROTATION_OVERDUE": (Kind.ROTATION_OVERDUE, lambda opened, today: iso_week(today)),
    "UNUSED": (Kind.UNUSED, lambda opened, today: month(today)),
}
RECENT_DAYS = 7  # events older than this (expiries, assignments) are not announced late
# Findings below critical that are still told at once when they open (receivers.py).
AT_ONCE_CODES = frozenset({"UNEXPECTED_SOURCE"})


def key_place(key: AccessKey) -> str:
    """Where a key lives, as messages name it: IAM user in account (id)."""
    return f"{key.user.name} in {key.account.name} ({key.account.account_id})"


def _key_path(key: AccessKey) -> str:
    return reverse("key-detail", args=[key.pk])


def finding_reminders(today: date) -> list[Message]:
    """Open, not excepted rotation and unused findings, to the key's active owner."""
    findings = (Finding.objects.filter(
        resolved_at__isnull=True, exception__isnull=True, code__in=FINDING_REMINDERS,
        key__removed_at__isnull=True, key__owner__is_active=True)
        .select_related("key__account", "key__user", "key__owner").order_by("key_id", "code"))
    messages = []
    for finding in findings:
        kind, period = FINDING_REMINDERS[finding.code]
        key = finding.key
        messages.append(Message(
            recipient=key.owner, kind=kind, subject=f"key:{key.pk}",
            period=period(finding.opened_at, today),
            title=f"{kind.label}: access key {key} ({key_place(key)})",
            lines=(f"Your access key {key} of IAM user {key_place(key)}: {finding.reason}.",),
            action=RULES[finding.code].fix, path=_key_path(key)))
    return messages


def purpose_review_reminders(today: date) -> list[Message]:
    """Current registrations whose review date is near or past, to the key's owner."""
    horizon = today + timedelta(days=settings.KEYLEDGER_REVIEW_WARNING_DAYS)
    registrations = (Registration.objects.filter(
        superseded_at__isnull=True, review_due_on__lte=horizon, key__removed_at__isnull=True,
        key__status=AccessKey.Status.ACTIVE, key__owner__is_active=True)
        .select_related("key__account", "key__user", "key__owner"))
    messages = []
    for registration in registrations:
        key, due = registration.key, registration.review_due_on
        state = "was due" if due <= today else "is due"
        messages.append(Message(
            recipient=key.owner, kind=Kind.PURPOSE_REVIEW, subject=f"key:{key.pk}",
            period=due.isoformat(),
            title=f"Purpose review {state} on {due}: access key {key}",
            lines=(f"The registered purpose of {key} ({key_place(key)}) {state} for review on "
                   f"{due}. Until it is reviewed the key counts as having no purpose.",),
            action="Review the registration: confirm or update the purpose and why a role, "
                   "Identity Center or STS still cannot serve.",
            path=reverse("key-register", args=[key.pk])))
    return messages


def _exception_recipient(exception: ExceptionRequest):
    """The key's owner acts on its exceptions; the requester when the key has none."""
    owner = exception.key.owner
    return owner if owner is not None and owner.is_active else exception.requested_by


def exception_reminders(today: date, now: datetime) -> list[Message]:
    """Approved exceptions ending within the warning window, and ones just expired."""
    horizon = today + timedelta(days=settings.KEYLEDGER_EXCEPTION_WARNING_DAYS)
    related = ("key__account", "key__user", "key__owner", "requested_by")
    expiring = ExceptionRequest.objects.filter(
        status=ExceptionRequest.Status.APPROVED, expires_on__gte=today,
        expires_on__lte=horizon).select_related(*related)
    expired = ExceptionRequest.objects.filter(
        status=ExceptionRequest.Status.EXPIRED, key__removed_at__isnull=True,
        closed_at__gte=now - timedelta(days=RECENT_DAYS)).select_related(*related)
    messages = []
    for exception in expiring:
        key, last = exception.key, exception.expires_on
        messages.append(Message(
            recipient=_exception_recipient(exception), kind=Kind.EXCEPTION_EXPIRING,
            subject=f"exception:{exception.pk}", period=last.isoformat(),
            title=f"Exception for {exception.code} on {key} ends on {last}",
            lines=(f"The exception waiving {exception.code} on {key} ({key_place(key)}) covers "
                   f"it until {last}; after that the finding counts again.",),
            action=f"Fix the finding before {last} ({fix_for(exception.code, '')}), or ask "
                   "for a new exception when this one ends.",
            path=reverse("exception-detail", args=[exception.pk])))
    for exception in expired:
        key = exception.key
        messages.append(Message(
            recipient=_exception_recipient(exception), kind=Kind.EXCEPTION_EXPIRED,
            subject=f"exception:{exception.pk}", period=exception.expires_on.isoformat(),
            title=f"Exception for {exception.code} on {key} has expired",
            lines=(f"The exception waiving {exception.code} on {key} ({key_place(key)}) ended "
                   f"on {exception.expires_on}; the finding counts against the key again.",),
            action=f"{fix_for(exception.code, 'Fix the finding.')} If it still cannot be "
                   "fixed, request a new exception.",
            path=f"{reverse('exception-new', args=[key.pk])}?code={exception.code}"))
    return messages


def assignment_notices(now: datetime) -> list[Message]:
    """Keys the security team assigned recently, to the new owner if they still own them."""
    events = AuditEvent.objects.filter(action="key.assign_owner", object_type="AccessKey",
                                       at__gte=now - timedelta(days=RECENT_DAYS))
    pairs = [(event, (event.after or {}).get("assigned_owner", "")) for event in events]
    people = {p.email.lower(): p for p in Person.objects.filter(
        is_active=True, email__in=[email.lower() for _, email in pairs if email])}
    keys = AccessKey.objects.select_related("account", "user").in_bulk(
        [int(e.object_id) for e, _ in pairs if e.object_id.isdigit()])
    messages = []
    for event, email in pairs:
        person, key = people.get(email.lower()), keys.get(int(event.object_id or 0))
        if person is None or key is None or key.assigned_owner_id != person.pk:
            continue  # reassigned since, or the person left: nothing to tell
        messages.append(Message(
            recipient=person, kind=Kind.KEY_ASSIGNED, subject=f"key:{key.pk}",
            period=f"event-{event.pk}", title=f"You now own access key {key}",
            lines=(f"{event.actor_label} assigned you access key {key} of IAM user "
                   f"{key_place(key)}. You answer for what it is for and how it is kept.",),
            action="Register the key's purpose and why a role, Identity Center or STS cannot "
                   "serve; if it is not yours, tell the security team.",
            path=reverse("key-register", args=[key.pk])))
    return messages


def critical_alerts() -> list[Message]:
    """Every open critical finding, once, to each security member and to the chat channel."""
    team = list(Person.objects.filter(is_active=True, groups__name=Role.SECURITY.value))
    findings = (Finding.objects.filter(resolved_at__isnull=True,
                                       severity=Severity.CRITICAL.value,
                                       key__removed_at__isnull=True)
                .select_related("key__account", "key__user"))
    messages = []
    for finding in findings:
        key = finding.key
        for recipient in [*team, None]:
            messages.append(Message(
                recipient=recipient, kind=Kind.CRITICAL_FINDING, subject=f"key:{key.pk}",
                period=f"{finding.code}-{day_of(finding.opened_at)}",
                title=f"Critical: {finding.code} in {key.account.name} "
                      f"({key.account.account_id})",
                lines=(f"{finding.reason[:1].upper()}{finding.reason[1:]} (open since "
                       f"{finding.opened_at:%Y-%m-%d %H:%M} UTC).",),
                action=fix_for(finding.code, "Act on the finding now."),
                path=_key_path(key)))
    return messages


def exposed_key_notices() -> list[Message]:
    """Each key AWS found in public (open ``KEY_EXPOSED``), once, to its active owner."""
    findings = (Finding.objects.filter(code="KEY_EXPOSED", resolved_at__isnull=True,
                                       key__removed_at__isnull=True, key__owner__is_active=True)
                .select_related("key__account", "key__user", "key__owner")
                .order_by("key_id"))
    messages = []
    for finding in findings:
        key, opened = finding.key, day_of(finding.opened_at)
        messages.append(Message(
            recipient=key.owner, kind=Kind.KEY_EXPOSED, subject=f"key:{key.pk}",
            period=opened, title=f"AWS found your access key {key} in public: replace it now",
            lines=(f"AWS found your access key {key} of IAM user {key_place(key)} in public "
                   f"(seen by Keyledger on {opened}): {finding.reason}.",
                   "Until it is deactivated, whoever found it can use it: AWS's quarantine "
                   "policy blocks only some actions."),
            action=RULES["KEY_EXPOSED"].fix, path=_key_path(key)))
    return messages


def unexpected_source_notices() -> list[Message]:
    """Each open ``UNEXPECTED_SOURCE`` (an exception covering it included: the exception
    was granted on earlier evidence), once per finding, to the key's active owner and each
    active security member: someone may be using the key who should not be."""
    team = list(Person.objects.filter(is_active=True, groups__name=Role.SECURITY.value))
    findings = (Finding.objects.filter(code="UNEXPECTED_SOURCE", resolved_at__isnull=True,
                                       key__removed_at__isnull=True)
                .select_related("key__account", "key__user", "key__owner").order_by("key_id"))
    messages = []
    for finding in findings:
        key = finding.key
        owner = [key.owner] if key.owner is not None and key.owner.is_active else []
        for recipient in {person.pk: person for person in [*owner, *team]}.values():
            messages.append(Message(
                recipient=recipient, kind=Kind.UNEXPECTED_SOURCE, subject=f"key:{key.pk}",
                period=f"finding-{finding.pk}",
                title=f"Access key {key} used from an undeclared address",
                lines=(f"Access key {key} of IAM user {key_place(key)} was {finding.reason}.",
                       "The addresses are outside the sources declared in its registration."),
                action=RULES["UNEXPECTED_SOURCE"].fix, path=_key_path(key)))
    return messages


def urgent_messages(*, now: datetime) -> list[Message]:
    """What cannot wait for the hourly run: critical alerts, exposed-key notices and keys
    used from undeclared sources."""
    return [*critical_alerts(), *exposed_key_notices(), *unexpected_source_notices()]


def owner_messages(*, now: datetime) -> list[Message]:
    """Everything the hourly run sends: owners' reminders, exposed keys, critical alerts."""
    today = now.date()
    return [*finding_reminders(today), *purpose_review_reminders(today),
            *exception_reminders(today, now), *assignment_notices(now),
            *urgent_messages(now=now)]
