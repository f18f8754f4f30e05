"""Celery tasks of reduction, for beat (config/celery.py): thin wrappers."""

from celery import shared_task
from django.utils import timezone

from notifications.delivery import deliver

from .reminders import overdue_plan_reminders


@shared_task(ignore_result=True)
def remind_overdue_plans() -> int:
    """Remind each overdue plan's owner (at most once per plan per
    ``KEYLEDGER_PLAN_REMINDER_DAYS``); returns how many reminders left."""
    return deliver(overdue_plan_reminders(now=timezone.now())).sent
