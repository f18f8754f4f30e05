"""Notifications that cannot wait for their schedule: sent when governance says so."""

from django.dispatch import receiver

from governance.policy import RULES, Severity
from governance.signals import findings_opened

from .tasks import send_notifications


@receiver(findings_opened, dispatch_uid="notifications-urgent-on-critical-findings")
def send_urgent_when_critical_findings_open(sender, codes, **kwargs):
    """A sync opened a critical finding (a root key, a key AWS found in public): tell the
    security team and the key's owner now rather than at the next hourly run."""
    if any(code in RULES and RULES[code].severity == Severity.CRITICAL for code in codes):
        send_notifications.delay("urgent")
