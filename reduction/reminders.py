"""Overdue migration plans in people's mail: the owner's reminder and the manager's digest.

A plan is overdue once its target date has passed and a sync has not closed it. Its owner is
reminded at most once per plan in ``KEYLEDGER_PLAN_REMINDER_DAYS``, counted from the last
reminder actually claimed for it in the notification log (a reminder whose mail failed
releases its claim, so the next run tries again). The owner's manager sees the plan in the
daily digest (``notifications.digests.manager_digests``) until it is done.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.urls import reverse

from notifications.messages import Message, absolute_url, day_of
from notifications.models import Kind, Notification

from .models import MigrationPlan


def _subject(plan: MigrationPlan) -> str:
    return f"plan:{plan.pk}"


def _overdue(today: date):
    return (MigrationPlan.objects.overdue(today=today)
            .select_related("key__account", "key__user", "key__owner")
            .order_by("target_date", "id"))


def _what(plan: MigrationPlan, today: date) -> str:
    late = (today - plan.target_date).days
    return (f"{plan.key} ({plan.key.user.name} in {plan.key.account.name}): "
            f"{plan.get_path_display()}, {plan.get_state_display().lower()}, due "
            f"{plan.target_date} ({late} day{'s' if late != 1 else ''} late)")


def overdue_plan_reminders(*, now: datetime) -> list[Message]:
    """One reminder per overdue plan to its key's active owner, unless one was sent for
    that plan within the last ``KEYLEDGER_PLAN_REMINDER_DAYS`` days."""
    today = now.date()
    plans = list(_overdue(today).filter(key__owner__is_active=True))
    if not plans:
        return []
    recent = set(Notification.objects.filter(
        kind=Kind.PLAN_OVERDUE, subject__in=[_subject(p) for p in plans],
        created_at__gt=now - timedelta(days=settings.KEYLEDGER_PLAN_REMINDER_DAYS))
        .values_list("subject", flat=True))
    return [Message(
        recipient=plan.key.owner, kind=Kind.PLAN_OVERDUE, subject=_subject(plan),
        period=day_of(today), title=f"Your plan to replace {plan.key} is overdue",
        lines=(_what(plan, today),),
        action="Finish the move and deactivate the key, or tell your manager why it slips.",
        path=reverse("plan-detail", args=[plan.pk]))
        for plan in plans if _subject(plan) not in recent]


def overdue_plans_of_reports(manager, *, today: date) -> list[MigrationPlan]:
    """The overdue plans of the keys ``manager``'s reports own (the digest's section)."""
    return list(_overdue(today).filter(key__owner__manager=manager))


def plan_digest_lines(plans: list[MigrationPlan], *, today: date) -> list[str]:
    """The digest's lines for ``plans``: each plan, what is late, and its page."""
    return [f"{_what(plan, today)}, owner {getattr(plan.key.owner, 'email', 'none')}: "
            f"{absolute_url(reverse('plan-detail', args=[plan.pk]))}" for plan in plans]
