"""Overdue plans: the security team's overview tile (equal to the list it links to), the
owner's reminder (at most once per plan per KEYLEDGER_PLAN_REMINDER_DAYS) and the manager's
digest."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from config.celery import app, beat_schedule
from notifications.delivery import deliver
from notifications.services import notifications_send
from reduction.models import MigrationPlan
from reduction.reminders import overdue_plan_reminders
from reduction.services import plan_open
from reduction.tasks import remind_overdue_plans
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


def mails(to: str) -> list:
    return [m for m in mail.outbox if m.to == [to]]


def test_each_overdue_plan_is_reminded_to_its_owner_at_most_once_per_period(
        people, plans, settings):
    settings.KEYLEDGER_PLAN_REMINDER_DAYS = 7
    now = timezone.now()

    assert remind(now) == 2
    assert remind(now + timedelta(days=6)) == 0  # within the period: nothing again
    assert remind(now + timedelta(days=7, minutes=1)) == 2

    [first, _again] = mails("owner@example.com")
    assert f"Your plan to replace {plans[0].key} is overdue" in first.subject
    assert "3 days late" in first.body
    assert reverse("plan-detail", args=[plans[0].pk]) in first.body
    assert len(mails("other@example.com")) == 2


def test_a_shorter_reminder_period_reminds_sooner(people, plans, settings):
    settings.KEYLEDGER_PLAN_REMINDER_DAYS = 1
    now = timezone.now()
    assert remind(now) == 2
    assert remind(now + timedelta(days=1, minutes=1)) == 2


def test_a_done_or_on_time_plan_is_not_reminded(people, plans):
    remind(timezone.now())

    assert {m.to[0] for m in mail.outbox} == {"owner@example.com", "other@example.com"}
    assert not any(str(plans[2].key) in m.subject or str(plans[3].key) in m.subject
                   for m in mail.outbox)


def test_the_manager_digest_lists_the_reports_overdue_plans(client, people, plans):
    notifications_send(groups=("managers",))

    [digest] = mails("boss@example.com")
    assert "1 migration plan(s) overdue" in digest.subject
    assert str(plans[0].key) in digest.body and "owner@example.com" in digest.body
    assert reverse("plan-detail", args=[plans[0].pk]) in digest.body
    assert str(plans[1].key) not in digest.body  # another manager's report
    [other] = mails("boss2@example.com")
    assert str(plans[1].key) in other.body


def test_the_reminder_task_is_scheduled_daily_and_sends(people, plans):
    entry = beat_schedule(60)["remind-overdue-plans-daily"]
    assert entry["task"] == "reduction.tasks.remind_overdue_plans"
    assert entry["task"] in app.tasks
    assert remind_overdue_plans.delay().get() == 2
    assert remind_overdue_plans.delay().get() == 0


def remind(now) -> int:
    return deliver(overdue_plan_reminders(now=now)).sent
