"""The way out on the key page and in My keys, and the plan pages: open, advance, list."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AccessKey, AuditEvent, Registration
from reduction.models import IdentityCenterAssignment, IdentityCenterPerson, MigrationPlan
from reduction.services import plan_advance, plan_open
from tests.factories import AccessKeyFactory, AccountFactory

pytestmark = pytest.mark.django_db
State = MigrationPlan.State


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def prod():
    return AccountFactory(account_id="222222222222", name="prod")


@pytest.fixture
def human_key(people, prod):
    """The owner's console user's key; Identity Center says they hold Developer on prod."""
    person = IdentityCenterPerson.objects.create(email="owner@example.com", user_id="u-1",
                                                 user_name="owner", read_at=timezone.now())
    IdentityCenterAssignment.objects.create(person=person, account_id=prod.account_id,
                                            permission_set_arn="arn:ps/1",
                                            permission_set_name="Developer")
    return AccessKeyFactory(owner=people["owner"], user__account=prod,
                            user__password_enabled=True, evaluated=True)


def registered_ci(key, owner):
    Registration.objects.create(
        key=key, owner=owner, category="ci_cd", runs_where="GitHub Actions",
        justification="deploys", why_not_iam_role="r", why_not_identity_center="i",
        why_not_sts="s", source_restriction="", rotation_procedure="p",
        deactivation_contact="c", registered_at=timezone.now(),
        review_due_on=in_days(180))


def test_the_key_page_shows_the_way_out_with_its_evidence_and_offers_a_plan(
        client, people, human_key):
    client.force_login(people["owner"])
    page = client.get(reverse("key-detail", args=[human_key.pk])).content.decode()

    assert 'data-path="identity_center"' in page
    assert ("You already have the <code>Developer</code> permission set on prod "
            "(222222222222) through Identity Center: use <code>aws sso login</code>") in page
    assert "No migration plan yet." in page
    assert reverse("plan-new", args=[human_key.pk]) in page


def test_a_manager_sees_the_way_out_but_is_not_offered_to_plan(client, people, human_key):
    client.force_login(people["manager"])
    page = client.get(reverse("key-detail", args=[human_key.pk])).content.decode()

    assert 'data-path="identity_center"' in page
    assert reverse("plan-new", args=[human_key.pk]) not in page


def test_aws_strings_in_the_evidence_are_escaped(client, people, human_key):
    IdentityCenterAssignment.objects.update(permission_set_name="<script>x</script>")
    client.force_login(people["owner"])
    page = client.get(reverse("key-detail", args=[human_key.pk])).content.decode()

    assert "<script>x</script>" not in page
    assert "<code>&lt;script&gt;x&lt;/script&gt;</code>" in page


def test_a_ci_key_page_builds_the_trust_policy_for_the_repository_named(client, people, prod):
    key = AccessKeyFactory(owner=people["owner"], user__account=prod, evaluated=True)
    registered_ci(key, people["owner"])
    client.force_login(people["owner"])
    url = reverse("key-detail", args=[key.pk])

    asked = client.get(url).content.decode()
    built = client.get(url, {"ci": "github", "repository": "acme/deploy",
                             "ref": "refs/heads/main"}).content.decode()
    refused = client.get(url, {"ci": "github", "repository": "acme/*"}).content.decode()

    assert 'name="repository"' in asked and 'data-testid="trust-policy"' not in asked
    assert "repo:acme/deploy:ref:refs/heads/main" in built
    assert "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com" \
        in built
    assert 'data-testid="trust-policy-error"' in refused
    assert "not a GitHub repository" in refused and "repo:acme/*" not in refused


def test_my_keys_shows_each_keys_way_out_and_plan(client, people, human_key):
    plan_open(actor=people["owner"], key=human_key, path="identity_center",
              target_date=in_days(10))
    client.force_login(people["owner"])
    page = client.get(reverse("my-keys")).content.decode()

    assert "IAM Identity Center" in page
    assert "The key belongs to a person" in page
    assert "plan planned" in page
    assert f'{reverse("key-detail", args=[human_key.pk])}#way-out' in page


def test_the_plan_form_preselects_the_recommended_path_and_a_date_30_days_ahead(
        client, people, human_key):
    client.force_login(people["owner"])
    response = client.get(reverse("plan-new", args=[human_key.pk]))
    page = response.content.decode()

    checked = [tag for tag in page.split("<input") if "checked" in tag]
    assert len(checked) == 1 and 'value="identity_center"' in checked[0]
    assert f'value="{in_days(30).isoformat()}"' in page
    assert 'value="keep"' not in page


def test_opening_a_plan_from_the_form_audits_it_and_shows_it(client, people, human_key):
    client.force_login(people["owner"])
    response = client.post(reverse("plan-new", args=[human_key.pk]), {
        "path": "identity_center", "target_date": in_days(20).isoformat(),
        "notes": "sso login"})

    plan = MigrationPlan.objects.get(key=human_key)
    assert response.status_code == 302 and response.url == reverse("plan-detail",
                                                                    args=[plan.pk])
    assert AuditEvent.objects.filter(action="plan.open", object_id=str(plan.pk)).exists()
    page = client.get(response.url).content.decode()
    assert "Planned" in page and in_days(20).isoformat() in page and "sso login" in page
    key_page = client.get(reverse("key-detail", args=[human_key.pk])).content.decode()
    assert 'data-testid="way-out-plan"' in key_page
    assert reverse("plan-new", args=[human_key.pk]) not in key_page  # one open plan


@pytest.mark.parametrize("days", [0, -3])
def test_a_plan_needs_a_future_date(client, people, human_key, days):
    client.force_login(people["owner"])
    response = client.post(reverse("plan-new", args=[human_key.pk]), {
        "path": "identity_center", "target_date": in_days(days).isoformat()})

    assert response.status_code == 400
    assert "Choose a date after today." in response.content.decode()
    assert not MigrationPlan.objects.exists()


def test_a_second_plan_for_the_same_key_is_refused(client, people, human_key):
    plan = plan_open(actor=people["owner"], key=human_key, path="iam_role",
                     target_date=in_days(10))
    client.force_login(people["security"])

    assert client.get(reverse("plan-new", args=[human_key.pk])).url == \
        reverse("plan-detail", args=[plan.pk])
    response = client.post(reverse("plan-new", args=[human_key.pk]), {
        "path": "roles_anywhere", "target_date": in_days(9).isoformat()})
    assert response.status_code == 302 and MigrationPlan.objects.count() == 1


def test_a_removed_key_cannot_be_planned_and_the_form_says_why(client, people, human_key):
    AccessKey.objects.filter(pk=human_key.pk).update(removed_at=timezone.now())
    client.force_login(people["owner"])
    response = client.post(reverse("plan-new", args=[human_key.pk]), {
        "path": "identity_center", "target_date": in_days(9).isoformat()})

    assert response.status_code == 400
    assert "already gone from AWS" in response.content.decode()


def test_only_the_owner_or_security_may_plan(client, people, human_key):
    client.force_login(people["manager"])
    assert client.get(reverse("plan-new", args=[human_key.pk])).status_code == 403
    client.force_login(people["other_owner"])
    assert client.get(reverse("plan-new", args=[human_key.pk])).status_code == 404


def test_replaced_is_refused_while_the_key_is_active_then_accepted(client, people, human_key):
    plan = plan_open(actor=people["owner"], key=human_key, path="identity_center",
                     target_date=in_days(10))
    client.force_login(people["owner"])
    url = reverse("plan-advance", args=[plan.pk])

    client.post(url, {"state": "in_progress"})
    refused = client.post(url, {"state": "replaced"}, follow=True).content.decode()
    plan.refresh_from_db()
    assert plan.state == State.IN_PROGRESS
    assert "deactivate the key in AWS first" in refused

    AccessKey.objects.filter(pk=human_key.pk).update(status=AccessKey.Status.INACTIVE)
    client.post(url, {"state": "replaced"})
    plan.refresh_from_db()
    assert plan.state == State.REPLACED
    assert list(AuditEvent.objects.filter(action="plan.advance", object_id=str(plan.pk))
                .values_list("after__state", flat=True).order_by("at")) == \
        ["in_progress", "replaced"]


@pytest.mark.parametrize("state", ["done", "planned", "bogus"])
def test_a_plan_moves_only_forward_and_never_to_done_by_hand(client, people, human_key, state):
    plan = plan_open(actor=people["owner"], key=human_key, path="identity_center",
                     target_date=in_days(10))
    plan_advance(actor=people["owner"], plan=plan, state="in_progress")
    client.force_login(people["owner"])
    page = client.post(reverse("plan-advance", args=[plan.pk]), {"state": state},
                       follow=True).content.decode()

    plan.refresh_from_db()
    assert plan.state == State.IN_PROGRESS
    assert 'class="message error' in page or "error" in page


def test_the_plan_page_offers_only_the_allowed_next_steps(client, people, human_key):
    plan = plan_open(actor=people["owner"], key=human_key, path="identity_center",
                     target_date=in_days(10))
    client.force_login(people["owner"])
    url = reverse("plan-detail", args=[plan.pk])
    assert 'data-step="in_progress"' in client.get(url).content.decode()
    plan_advance(actor=people["owner"], plan=plan, state="in_progress")
    page = client.get(url).content.decode()
    assert 'data-step="in_progress"' not in page and 'data-step="replaced"' in page
    assert 'data-step="done"' not in page

    client.force_login(people["manager"])  # sees the plan, may not move it
    page = client.get(url).content.decode()
    assert "data-step" not in page
    assert client.post(reverse("plan-advance", args=[plan.pk]),
                       {"state": "replaced"}).status_code == 403


@pytest.fixture
def plans(people):
    """Three plans: the owner's overdue and on-time ones, another owner's overdue one."""
    mine = [AccessKeyFactory(owner=people["owner"], evaluated=True) for _ in range(2)]
    theirs = AccessKeyFactory(owner=people["other_owner"], evaluated=True)
    made = {
        "late": plan_open(actor=people["owner"], key=mine[0], path="iam_role",
                          target_date=in_days(5)),
        "on_time": plan_open(actor=people["owner"], key=mine[1], path="iam_role",
                             target_date=in_days(40)),
        "other": plan_open(actor=people["other_owner"], key=theirs, path="roles_anywhere",
                           target_date=in_days(3)),
    }
    MigrationPlan.objects.filter(pk=made["late"].pk).update(target_date=in_days(-2))
    MigrationPlan.objects.filter(pk=made["other"].pk).update(target_date=in_days(-3))
    plan_advance(actor=people["owner"], plan=made["on_time"], state="in_progress")
    return made


def listed(client, query="") -> list[int]:
    response = client.get(reverse("plans") + query)
    assert response.status_code == 200
    return [plan.pk for plan in response.context["page"].object_list]


def test_the_plans_list_shows_each_person_what_they_may_see_by_target_date(
        client, people, plans):
    client.force_login(people["security"])
    assert listed(client) == [plans["other"].pk, plans["late"].pk, plans["on_time"].pk]
    client.force_login(people["owner"])
    assert listed(client) == [plans["late"].pk, plans["on_time"].pk]
    client.force_login(people["manager"])  # the owner's manager: their report's plans
    assert listed(client) == [plans["late"].pk, plans["on_time"].pk]
    client.force_login(people["other_manager"])
    assert listed(client) == [plans["other"].pk]


def test_the_plans_list_filters_by_state_and_overdue(client, people, plans):
    client.force_login(people["security"])
    assert listed(client, "?overdue=true") == [plans["other"].pk, plans["late"].pk]
    assert listed(client, "?state=in_progress") == [plans["on_time"].pk]
    assert listed(client, "?state=planned&overdue=true") == [plans["other"].pk,
                                                             plans["late"].pk]
    assert client.get(reverse("plans") + "?state=bogus").status_code == 400


def test_the_plans_list_is_paginated_and_has_an_empty_state(client, people):
    client.force_login(people["owner"])
    assert "No migration plans yet" in client.get(reverse("plans")).content.decode()
    keys = [AccessKeyFactory(owner=people["owner"]) for _ in range(51)]
    AccessKey.objects.filter(pk__in=[k.pk for k in keys]).update(owner=people["owner"])
    for key in AccessKey.objects.filter(pk__in=[k.pk for k in keys]):
        plan_open(actor=people["owner"], key=key, path="iam_role", target_date=in_days(5))
    page = client.get(reverse("plans")).content.decode()
    assert "Page 1 of 2" in page and "51 plans" in page
    assert len(listed(client, "?page=2")) == 1


def test_a_plan_outside_ones_scope_is_not_found(client, people, plans):
    client.force_login(people["owner"])
    assert client.get(reverse("plan-detail", args=[plans["other"].pk])).status_code == 404
    assert client.post(reverse("plan-advance", args=[plans["other"].pk]),
                       {"state": "in_progress"}).status_code == 404


def test_a_gitlab_key_gets_a_gitlab_trust_policy(client, people, prod):
    key = AccessKeyFactory(owner=people["owner"], user__account=prod, evaluated=True)
    registered_ci(key, people["owner"])
    client.force_login(people["owner"])
    page = client.get(reverse("key-detail", args=[key.pk]), {
        "ci": "gitlab", "repository": "acme/infra/deploy", "ref": "main"}).content.decode()

    assert "project_path:acme/infra/deploy:ref_type:branch:ref:main" in page
    assert "oidc-provider/gitlab.com" in page
