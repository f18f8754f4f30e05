"""What governance does when another app announces something."""

import logging

from django.dispatch import receiver

from accounts.signals import people_changed
from core.signals import audit_committed

from .evaluation import evaluate_keys
from .tasks import forward_audit_events

log = logging.getLogger("keyledger.audit")


@receiver(people_changed, dispatch_uid="governance.reevaluate_on_people")
def reevaluate_when_people_change(**_kwargs):
    """Who is active, and whose e-mail a tag names, decides every key's ownership."""
    evaluate_keys()


@receiver(audit_committed, dispatch_uid="governance.forward_audit_events")
def ship_committed_audit_events(**_kwargs):
    """After a decision commits: ship it to the write-once sink (in-process without a broker).

    The decision has committed whatever happens here: a broker that cannot take the task
    only delays shipping until the 5-minute schedule, so it is logged, never raised.
    """
    try:
        forward_audit_events.delay()
    except Exception as exc:  # noqa: BLE001 - any broker failure; the schedule catches up
        log.warning("audit events not queued for the sink (%s); the 5-minute run ships them",
                    exc, extra={"event": "audit_sink_failed"})
