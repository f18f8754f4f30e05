"""Overdue plans: the security team's overview tile (equal to the list it links to), the
owner's reminder (at most once per plan per KEYLEDGER_PLAN_REMINDER_DAYS) and the manager's
digest."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reduction.models import MigrationPlan
from reduction.services import plan_open
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def plans(people):
    """Two overdue plans (the owner's and another owner's), one on time, one done late."""
    made = []
    for owner, days in (("owner", -3), ("other_owner", -1), ("owner", 20), ("owner", -9)):
        key = AccessKeyFactory(owner=people[owner], evaluated=True)
        plan = plan_open(actor=people[owner], key=key, path="iam_role", target_date=in_days(5))
        MigrationPlan.objects.filter(pk=plan.pk).update(target_date=in_days(days))
        made.append(plan)
    MigrationPlan.objects.filter(pk=made[3].pk).update(state="done", done_at=timezone.now())
    return made


def test_the_security_overview_counts_exactly_the_overdue_plans_it_links_to(
        client, people, plans):
    client.force_login(people["security"])
    overview = client.get(reverse("overview"))
    listed = client.get(reverse("plans") + "?overdue=true")

    assert overview.context["tiles"]["overdue_plans"] == 2
    assert f'{reverse("plans")}?overdue=true' in overview.content.decode()
    assert listed.context["page"].paginator.count == 2
    assert {p.pk for p in listed.context["page"].object_list} == {plans[0].pk, plans[1].pk}


def test_only_the_security_team_sees_the_overdue_plans_tile(client, people, plans):
    client.force_login(people["owner"])
    assert 'data-tile="overdue-plans"' not in client.get(reverse("overview")).content.decode()
