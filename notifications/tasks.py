"""Celery tasks for beat: thin wrappers; sending twice in a period is a no-op."""

from celery import shared_task

from .services import GROUPS, notifications_send


@shared_task(ignore_result=True)
def send_notifications(group: str) -> int:
    """Send one group's due messages (``owners``, ``managers``, ``security`` or ``urgent``)."""
    if group not in GROUPS:
        raise ValueError(f"unknown notification group {group!r}")
    return notifications_send(groups=(group,)).sent
