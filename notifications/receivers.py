"""Notifications that cannot wait for their schedule: sent when governance says so."""

from django.dispatch import receiver

from governance.policy import RULES, Severity
from governance.signals import exception_changed, findings_opened

from .owners import AT_ONCE_CODES
from .tasks import send_exception_notices, send_notifications


@receiver(findings_opened, dispatch_uid="notifications-urgent-on-critical-findings")
def send_urgent_when_critical_findings_open(sender, codes, **kwargs):
    """A sync, trail read or registration opened a critical finding (a root key, a key AWS
    found in public) or one told at once (a key used from an undeclared source): tell the
    security team and the key's owner now rather than at the next hourly run."""
    if any(code in AT_ONCE_CODES
           or (code in RULES and RULES[code].severity == Severity.CRITICAL) for code in codes):
        send_notifications.delay("urgent")


@receiver(exception_changed, dispatch_uid="notifications-exception-loop")
def tell_who_acts_next_on_an_exception(sender, exception_id, **kwargs):
    """A request was made or decided: its deciders, or its requester, hear of it now (digest
    settings do not apply: this is not a digest)."""
    send_exception_notices.delay(exception_id)
