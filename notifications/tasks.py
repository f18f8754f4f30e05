"""Celery tasks for beat: thin wrappers; sending twice in a period is a no-op."""

from celery import shared_task

from .services import GROUPS, exception_notices_send, notifications_send


@shared_task(ignore_result=True)
def send_notifications(group: str) -> int:
    """Send one group's due messages (``owners``, ``managers``, ``security`` or ``urgent``)."""
    if group not in GROUPS:
        raise ValueError(f"unknown notification group {group!r}")
    return notifications_send(groups=(group,)).sent


@shared_task(ignore_result=True)
def send_exception_notices(exception_id: int) -> int:
    """Tell the deciders of a new request, or the requester of a decision (re-read now)."""
    return exception_notices_send(exception_id=exception_id).sent
