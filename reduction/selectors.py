"""Reads of reduction for the pages: the plans a person may see, filtered, and one plan.

Visibility is the keys' (``MigrationPlan.objects.visible_to``): the security team sees every
plan, a manager their own and their reports', an owner theirs. The overview's count of
overdue plans and the list it links to (``/plans/?overdue=true``) both come from
``plans_for``, so the number equals the list.
"""

from datetime import date

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from governance.models import AuditEvent

from .models import MigrationPlan

PLAN_HISTORY = 50  # audit events shown on a plan's page, oldest first


def plans_for(person, *, today: date, state: str = "", overdue: bool = False) -> QuerySet:
    """The plans ``person`` may see, by target date, with their key, account, IAM user and
    owner; only those in ``state`` when given, only the overdue ones (past their target date
    and not done) when ``overdue``."""
    plans = MigrationPlan.objects.visible_to(person)
    if state:
        plans = plans.filter(state=state)
    if overdue:
        plans = plans.overdue(today=today)
    return plans.select_related("key__account", "key__user", "key__owner").order_by(
        "target_date", "id")


def overdue_plan_count(person, *, today: date) -> int:
    """How many rows ``/plans/?overdue=true`` lists for ``person`` (the overview's tile)."""
    return plans_for(person, today=today, overdue=True).count()


def plan_for(person, pk: int) -> MigrationPlan:
    """The plan ``pk`` if ``person`` may see its key, else 404 (never confirming it exists)."""
    plans = MigrationPlan.objects.visible_to(person).select_related(
        "key__account", "key__user", "key__owner", "opened_by")
    return get_object_or_404(plans, pk=pk)


def plan_history(plan: MigrationPlan) -> list[AuditEvent]:
    """The audited changes of ``plan``, oldest first (opened, moved, closed by a sync)."""
    return list(AuditEvent.objects.filter(object_type="MigrationPlan", object_id=str(plan.pk))
                .order_by("at", "id")[:PLAN_HISTORY])
