"""The stored reads and the usage evidence become a key's way out, as the API will show it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evidence.models import KeyUsageAddress, KeyUsageDay
from governance.aws.identity_center import identity_center_access
from governance.aws.oidc_providers import oidc_providers
from governance.aws.session import assumed_session
from governance.models import Registration
from governance.way_out import recommend
from reduction.facts import key_way_out, way_out_facts, way_out_for_keys
from reduction.models import IdentityCenterPerson
from reduction.services import (
    identity_center_refresh,
    identity_center_store,
    oidc_providers_store,
    plan_open,
)
from tests.conftest import account_clients
from tests.factories import AccessKeyFactory, AccountFactory, PersonFactory

from .conftest import PROD

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod():
    return AccountFactory(account_id=PROD, name="prod")


def usage(key, *, days_ago: int, address: str, agent: str, via: bool = False):
    day = timezone.localdate() - timedelta(days=days_ago)
    now = timezone.now()
    KeyUsageDay.objects.create(access_key_id=key.access_key_id, day=day, events=3,
                               user_agents={agent: 3})
    KeyUsageAddress.objects.create(access_key_id=key.access_key_id, day=day, address=address,
                                   via_aws_service=via, first_seen=now, last_seen=now, events=3)


def test_a_persons_key_is_pointed_at_the_permission_set_read_from_identity_center(
        directory, prod):
    jane = PersonFactory(email="jane.doe@example.com")
    key = AccessKeyFactory(owner=jane, user__account=prod, user__password_enabled=True,
                           evaluated=True)
    identity_center_store(snapshot=identity_center_access([jane.email]), now=timezone.now())

    way_out = key_way_out(key, today=timezone.localdate())

    assert way_out == {"path": "identity_center", "plan": None, "evidence": [
        "The key belongs to a person (the user also signs in to the console).",
        f"You already have the `Developer` permission set on prod ({PROD}) through Identity "
        "Center: use `aws sso login` and deactivate this key."]}


def test_a_new_read_replaces_what_is_stored_about_a_person(directory, prod):
    identity_center_store(snapshot=identity_center_access(["jane.doe@example.com"]),
                          now=timezone.now())
    account_clients("444444444444").client("identitystore").delete_user(
        IdentityStoreId=directory.identity_store_id, UserId=directory.user_ids["jane"])

    identity_center_store(snapshot=identity_center_access(["jane.doe@example.com"]),
                          now=timezone.now())

    person = IdentityCenterPerson.objects.get(email="jane.doe@example.com")
    assert person.user_id == "" and not person.assignments.exists()


def test_a_ci_key_names_the_accounts_github_provider_read_through_the_reader_role(aws, prod):
    account_clients(PROD).client("iam").create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    session = assumed_session(account_id=PROD, role_arn=f"arn:aws:iam::{PROD}:role/KeyledgerReader")
    oidc_providers_store(account=prod, providers=oidc_providers(session), now=timezone.now())
    key = AccessKeyFactory(user__account=prod)
    usage(key, days_ago=2, address="140.82.112.3",
          agent="aws-cli/2 configure-aws-credentials-for-github-actions")

    facts = way_out_facts(key, today=timezone.localdate())
    way_out = key_way_out(key, today=timezone.localdate())

    assert facts.oidc_issuers == ("token.actions.githubusercontent.com",)
    assert way_out["path"] == "oidc_federation"
    assert "already trusts GitHub Actions's tokens" in way_out["evidence"][-1]


def test_usage_outside_the_window_is_not_evidence(prod, settings):
    settings.KEYLEDGER_EVIDENCE_DAYS = 7
    key = AccessKeyFactory(user__account=prod)
    usage(key, days_ago=3, address="lambda.amazonaws.com", agent="Boto3/1.34", via=True)
    usage(key, days_ago=8, address="203.0.113.7", agent="gitlab-runner")

    facts = way_out_facts(key, today=timezone.localdate())

    assert [a.address for a in facts.addresses] == ["lambda.amazonaws.com"]
    assert facts.user_agents == ("Boto3/1.34",)
    assert key_way_out(key, today=timezone.localdate())["path"] == "iam_role"


def test_nothing_read_yet_stays_unknown_and_the_plan_is_shown(prod, people):
    key = AccessKeyFactory(owner=people["owner"], user__account=prod, evaluated=True)
    Registration.objects.create(
        key=key, owner=people["owner"], category="on_premises", runs_where="dc1",
        justification="x", why_not_iam_role="x", why_not_identity_center="x", why_not_sts="x",
        source_restriction="10.0.0.0/8", rotation_procedure="x", deactivation_contact="x",
        registered_at=timezone.now(), review_due_on=timezone.localdate() + timedelta(days=90))
    target = timezone.localdate() + timedelta(days=20)
    plan_open(actor=people["owner"], key=key, path="roles_anywhere", target_date=target)

    facts = way_out_facts(key, today=timezone.localdate())
    way_out = key_way_out(key, today=timezone.localdate())

    assert facts.identity_center_user is None and facts.oidc_issuers is None
    assert way_out["path"] == "roles_anywhere"
    assert way_out["plan"] == {"state": "planned", "target_date": target.isoformat()}


def test_a_refresh_reads_every_owner_of_a_present_key_once_and_forgets_former_owners(
        directory, prod):
    jane = PersonFactory(email="Jane.Doe@example.com")
    omar = PersonFactory(email="omar@example.com")
    AccessKeyFactory(owner=jane, user__account=prod, evaluated=True)
    AccessKeyFactory(owner=jane, user__account=prod, evaluated=True)
    AccessKeyFactory(owner=omar, user__account=prod, evaluated=True, removed_at=timezone.now())
    IdentityCenterPerson.objects.create(email="left@example.com", read_at=timezone.now())

    assert identity_center_refresh() == 1

    assert list(IdentityCenterPerson.objects.values_list("email", "user_id")) == [
        ("jane.doe@example.com", directory.user_ids["jane"])]


def test_ways_out_of_many_keys_take_as_many_queries_as_of_one_and_agree_with_each(
        directory, prod):
    jane = PersonFactory(email="jane.doe@example.com")
    identity_center_store(snapshot=identity_center_access([jane.email]), now=timezone.now())
    keys = [AccessKeyFactory(owner=jane, user__account=prod, user__password_enabled=i % 2 == 0,
                             evaluated=True) for i in range(6)]
    for i, key in enumerate(keys):
        usage(key, days_ago=i, address=f"198.51.100.{i}", agent="aws-cli/2")
    plan_open(actor=jane, key=keys[1], path="iam_role",
              target_date=timezone.localdate() + timedelta(days=9))
    today = timezone.localdate()
    loaded = list(type(keys[0]).objects.filter(pk__in=[k.pk for k in keys])
                  .select_related("account", "owner").order_by("pk"))

    with CaptureQueriesContext(connection) as one:
        way_out_for_keys(loaded[:1], today=today)
    with CaptureQueriesContext(connection) as many:
        found = way_out_for_keys(loaded, today=today)

    assert len(many) == len(one)
    assert [found[k.pk].way_out for k in loaded] == \
        [recommend(way_out_facts(k, today=today)) for k in loaded]
    assert {found[k.pk].way_out.path.value for k in loaded} == {"identity_center",
                                                                "roles_anywhere"}
    assert found[loaded[1].pk].plan is not None and found[loaded[0].pk].plan is None
    assert way_out_for_keys([], today=today) == {}
