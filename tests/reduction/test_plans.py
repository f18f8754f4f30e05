"""Migration plans: opened by the owner or security, moved forward only, audited, and closed
by the sync that sees the key gone from AWS (never by a button)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import GovernanceError, NotAllowed
from governance.models import AccessKey, AuditEvent, SyncRun
from governance.sync import sync_account
from reduction.models import MigrationPlan
from reduction.services import plan_advance, plan_open, plans_close_for_deleted_keys
from tests.conftest import account_clients
from tests.factories import AccessKeyFactory

from .conftest import PROD

pytestmark = pytest.mark.django_db
State = MigrationPlan.State


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def key(people):
    return AccessKeyFactory(owner=people["owner"], evaluated=True)


def test_the_owner_opens_a_plan_and_it_is_audited(people, key):
    plan = plan_open(actor=people["owner"], key=key, path="identity_center",
                     target_date=in_days(30), notes="  use aws sso login  ")

    assert (plan.state, plan.path, plan.notes) == (State.PLANNED, "identity_center",
                                                   "use aws sso login")
    event = AuditEvent.objects.get(action="plan.open")
    assert event.actor == people["owner"] and event.object_id == str(plan.pk)
    assert event.after == {"state": "planned", "path": "identity_center",
                           "target_date": in_days(30).isoformat()}


def test_security_may_plan_any_key_but_a_stranger_may_not(people, key):
    with pytest.raises(NotAllowed):
        plan_open(actor=people["other_owner"], key=key, path="iam_role", target_date=in_days(9))
    with pytest.raises(NotAllowed):
        plan_open(actor=people["manager"], key=key, path="iam_role", target_date=in_days(9))

    assert plan_open(actor=people["security"], key=key, path="iam_role",
                     target_date=in_days(9)).opened_by == people["security"]
    assert not AuditEvent.objects.filter(action="plan.open", actor=people["other_owner"])


@pytest.mark.parametrize(("path", "days", "message"), [
    ("keep", 30, "other than keep"),
    ("delete_it", 30, "other than keep"),
    ("iam_role", 0, "in the future"),
    ("iam_role", -1, "in the future"),
])
def test_a_plan_needs_a_replacement_path_and_a_future_date(people, key, path, days, message):
    with pytest.raises(GovernanceError, match=message):
        plan_open(actor=people["owner"], key=key, path=path, target_date=in_days(days))

    assert not MigrationPlan.objects.exists()


def test_one_open_plan_per_key(people, key):
    plan_open(actor=people["owner"], key=key, path="iam_role", target_date=in_days(9))

    with pytest.raises(GovernanceError, match="already has an open plan"):
        plan_open(actor=people["owner"], key=key, path="roles_anywhere", target_date=in_days(9))

    assert MigrationPlan.objects.count() == 1


def test_a_key_already_gone_cannot_be_planned(people, key):
    AccessKey.objects.filter(pk=key.pk).update(removed_at=timezone.now())
    key.refresh_from_db()

    with pytest.raises(GovernanceError, match="already gone"):
        plan_open(actor=people["owner"], key=key, path="iam_role", target_date=in_days(9))


def test_plans_move_forward_only_and_replaced_needs_the_key_inactive(people, key):
    plan = plan_open(actor=people["owner"], key=key, path="iam_role", target_date=in_days(9))

    plan = plan_advance(actor=people["owner"], plan=plan, state=State.IN_PROGRESS)
    with pytest.raises(GovernanceError, match="deactivate the key in AWS first"):
        plan_advance(actor=people["owner"], plan=plan, state=State.REPLACED)
    AccessKey.objects.filter(pk=key.pk).update(status=AccessKey.Status.INACTIVE)
    plan = plan_advance(actor=people["owner"], plan=plan, state=State.REPLACED)
    with pytest.raises(GovernanceError, match="cannot move to in_progress"):
        plan_advance(actor=people["owner"], plan=plan, state=State.IN_PROGRESS)
    with pytest.raises(GovernanceError, match="when a sync sees the key deleted"):
        plan_advance(actor=people["security"], plan=plan, state=State.DONE)

    plan.refresh_from_db()
    assert plan.state == State.REPLACED and plan.done_at is None
    assert [(e.before["state"], e.after["state"]) for e in
            AuditEvent.objects.filter(action="plan.advance").order_by("id")] == [
        ("planned", "in_progress"), ("in_progress", "replaced")]


def test_only_the_owner_or_security_moves_a_plan(people, key):
    plan = plan_open(actor=people["owner"], key=key, path="iam_role", target_date=in_days(9))

    with pytest.raises(NotAllowed):
        plan_advance(actor=people["other_owner"], plan=plan, state=State.IN_PROGRESS)

    plan.refresh_from_db()
    assert plan.state == State.PLANNED


def test_overdue_plans_are_past_their_date_and_not_done(people):
    today = timezone.localdate()
    keys = [AccessKeyFactory(owner=people["owner"], evaluated=True) for _ in range(3)]
    plans = [plan_open(actor=people["owner"], key=k, path="iam_role", target_date=in_days(5))
             for k in keys]
    MigrationPlan.objects.filter(pk=plans[0].pk).update(target_date=today - timedelta(days=1))
    MigrationPlan.objects.filter(pk=plans[1].pk).update(target_date=today - timedelta(days=2),
                                                        state=State.DONE, done_at=timezone.now())

    overdue = MigrationPlan.objects.overdue(today=today)

    assert list(overdue) == [plans[0]]
    assert list(MigrationPlan.objects.overdue(today=in_days(6))) == [plans[0], plans[2]]
    assert list(overdue.visible_to(people["manager"])) == [plans[0]]
    assert not overdue.visible_to(people["other_owner"]).exists()


def test_the_sync_that_sees_the_key_deleted_closes_its_plan(aws, people, register_account):
    iam = account_clients(PROD).client("iam")
    iam.create_user(UserName="jane", Tags=[{"Key": "owner", "Value": people["owner"].email}])
    key_id = iam.create_access_key(UserName="jane")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="build")
    other_id = iam.create_access_key(UserName="build")["AccessKey"]["AccessKeyId"]
    account = register_account(PROD)
    assert sync_account(account=account).run.status == SyncRun.Status.SUCCEEDED
    key = AccessKey.objects.get(access_key_id=key_id)
    plan = plan_open(actor=people["owner"], key=key, path="identity_center",
                     target_date=in_days(14))
    other = plan_open(actor=people["security"], key=AccessKey.objects.get(access_key_id=other_id),
                      path="oidc_federation", target_date=in_days(14))

    iam.update_access_key(UserName="jane", AccessKeyId=key_id, Status="Inactive")
    sync_account(account=account, full_listing=True)
    plan = plan_advance(actor=people["owner"], plan=plan, state=State.REPLACED)
    assert plans_close_for_deleted_keys(account=account) == 0
    iam.delete_access_key(UserName="jane", AccessKeyId=key_id)

    run = sync_account(account=account, full_listing=True).run  # closes it, in its transaction

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    plan.refresh_from_db()
    other.refresh_from_db()
    assert plan.state == State.DONE and plan.done_at is not None
    assert run.started_at <= plan.done_at <= run.finished_at
    assert other.state == State.PLANNED  # its key is still in AWS
    event = AuditEvent.objects.get(action="plan.done")
    assert event.actor is None and event.actor_label == "system"
    assert event.before["state"] == "replaced" and event.after["state"] == "done"
    assert plans_close_for_deleted_keys(account=account) == 0  # idempotent
