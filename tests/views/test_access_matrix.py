"""Every URL requested as every persona: the answer each must get (DESIGN.md's three roles).

Access is decided once, in ``visible_to`` querysets and role checks; this matrix proves the
pages use them: 200 where the person may look, 403 where the page is not for their role,
404 for objects outside their scope (never confirming they exist), and the login page for
anonymous and inactive people.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey
from governance.services.exceptions import exception_request
from reduction.models import MigrationPlan
from reduction.services import plan_open
from tests.factories import NOW, AccessKeyFactory, IamUserFactory, personas

pytestmark = pytest.mark.django_db

PERSONAS = ("security", "manager", "owner", "other_owner", "leaver", "anonymous")
ALL = {"security": 200, "manager": 200, "owner": 200, "other_owner": 200}
SECURITY_ONLY = {"security": 200, "manager": 403, "owner": 403, "other_owner": 403}
SECURITY_AND_MANAGERS = {"security": 200, "manager": 200, "owner": 403, "other_owner": 403}
OWNERS_KEY = {"security": 200, "manager": 200, "owner": 200, "other_owner": 404}
ACT_ON_OWNERS_KEY = {"security": 200, "manager": 403, "owner": 200, "other_owner": 404}
# A direct report's findings (My team): their manager only; a person outside one's team is
# answered as if they did not exist, even to the security team.
MANAGER_OF_OWNER = {"security": 404, "manager": 200, "owner": 403, "other_owner": 403}
# An issuance request: its requester and the security team (its deciders by default).
REQUESTER_AND_SECURITY = {"security": 200, "manager": 404, "owner": 200, "other_owner": 404}


@pytest.fixture
def world():
    people = personas()
    user = IamUserFactory(tags={"owner": "owner@example.com"})
    key = AccessKeyFactory(user=user, created_at=NOW - timedelta(days=200))
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    key.refresh_from_db()
    exception = exception_request(actor=people["owner"], key=key, code="ROTATION_OVERDUE",
                                  justification="freeze",
                                  expires_on=timezone.localdate() + timedelta(days=10))
    # A migration plan on a second key of the owner (the first stays free to be planned).
    planned = AccessKeyFactory(user=IamUserFactory(tags={"owner": "owner@example.com"}))
    evaluate_keys(keys=AccessKey.objects.filter(pk=planned.pk))
    plan_open(actor=people["owner"], key=AccessKey.objects.get(pk=planned.pk), path="iam_role",
              target_date=timezone.localdate() + timedelta(days=10))
    return people, key, exception


def pages(key, exception):
    owner = key.owner
    return [
        (reverse("overview"), ALL),
        (reverse("inventory"), ALL),
        (reverse("inventory-export"), ALL),
        (reverse("key-detail", args=[key.pk]), OWNERS_KEY),
        (reverse("my-keys"), ALL),
        (reverse("ownership-gaps"), SECURITY_AND_MANAGERS),
        (reverse("rotation"), SECURITY_AND_MANAGERS),
        (reverse("my-team"), SECURITY_AND_MANAGERS),
        (reverse("team-findings", args=[owner.pk]), MANAGER_OF_OWNER),
        (reverse("leaver-keys"), SECURITY_AND_MANAGERS),
        (reverse("key-register", args=[key.pk]), ACT_ON_OWNERS_KEY),
        (reverse("exception-new", args=[key.pk]), ACT_ON_OWNERS_KEY),
        (reverse("exceptions"), ALL),
        (reverse("burn-down"), ALL),  # each sees the keys they may see
        (reverse("burn-down-export"), ALL),
        (reverse("exception-detail", args=[exception.pk]), OWNERS_KEY),
        (reverse("aws-accounts"), SECURITY_ONLY),
        (reverse("audit-log"), SECURITY_ONLY),
        (reverse("key-incident", args=[key.pk]), SECURITY_ONLY),
        (reverse("key-incident-export", args=[key.pk]), SECURITY_ONLY),
        (reverse("api-tokens"), ALL),
        (reverse("notifications-outbox"), SECURITY_ONLY),
        (reverse("notification-preferences"), ALL),
        (reverse("issuance-new"), ALL),
        (reverse("issuance-list"), ALL),
        (reverse("issuance-detail", args=[issuance_of(key).pk]), REQUESTER_AND_SECURITY),
        (reverse("issuance-unrequested-keys"), SECURITY_ONLY),
        (reverse("plans"), ALL),
        (reverse("plans") + "?overdue=true", ALL),
        (reverse("plan-new", args=[key.pk]), ACT_ON_OWNERS_KEY),
        (reverse("plan-detail", args=[MigrationPlan.objects.get().pk]), OWNERS_KEY),
    ]


def issuance_of(key):
    """The owner's issuance request for a new key in ``key``'s account (made once)."""
    from reduction.issuance import IssuanceInput, issuance_file
    from reduction.models import IssuanceRequest

    found = IssuanceRequest.objects.filter(account=key.account).first()
    return found or issuance_file(actor=key.owner, data=IssuanceInput(
        account_id=key.account.account_id, user_name="ci-new", category="ci_cd",
        runs_where="CI", justification="deploys", why_not_iam_role="outside AWS",
        why_not_identity_center="not a person", why_not_sts="no issuer",
        policy_text='{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
                    '"Resource": "*"}]}', sources_text="203.0.113.0/24",
        rotation_plan="60 days", deactivation_contact="owner@example.com"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_answers_each_persona_as_designed(client, world, persona):
    people, key, exception = world
    if persona != "anonymous":
        client.force_login(people[persona])
    answers = {}
    for url, expected in pages(key, exception):
        response = client.get(url)
        if persona in ("anonymous", "leaver"):
            want = 302
            assert response.status_code == want, url
            assert response.url.startswith(reverse("login")), url
            continue
        answers[url] = (response.status_code, expected[persona])
    wrong = {url: got for url, got in answers.items() if got[0] != got[1]}
    assert wrong == {}, wrong


@pytest.mark.parametrize("persona, expected", [
    ("security", 200), ("manager", 200), ("owner", 200), ("other_owner", 404)])
def test_object_ids_outside_scope_are_not_found_by_guessing(client, world, persona, expected):
    people, key, exception = world
    client.force_login(people[persona])
    assert client.get(reverse("key-detail", args=[key.pk])).status_code == expected
    assert client.get(reverse("key-detail", args=[key.pk + 999])).status_code == 404
    missing = client.get(reverse("exception-detail", args=[exception.pk + 999]))
    assert missing.status_code == 404


def test_the_account_filter_reveals_no_account_outside_scope(client, world):
    people, key, _ = world
    own_account = key.account
    foreign = AccessKeyFactory(user=IamUserFactory(tags={"owner": "other@example.com"}))
    evaluate_keys(keys=AccessKey.objects.filter(pk=foreign.pk))
    hidden = foreign.account
    client.force_login(people["owner"])
    page = client.get(reverse("inventory")).content.decode()
    assert own_account.name in page and hidden.name not in page
    # A guessed id of an existing foreign account is answered like one that does not exist.
    for url in (reverse("inventory"), reverse("inventory-export"), "/api/v1/keys/"):
        foreign_answer = client.get(url, {"account": hidden.pk})
        missing_answer = client.get(url, {"account": hidden.pk + 999})
        assert foreign_answer.status_code == missing_answer.status_code, url
        assert foreign_answer.status_code in (400, 302), url  # the export returns to the page
        assert hidden.name.encode() not in foreign_answer.content
    client.force_login(people["security"])
    assert hidden.name in client.get(reverse("inventory")).content.decode()
    assert client.get(reverse("inventory"), {"account": hidden.pk}).status_code == 200


def test_the_api_refuses_anonymous_callers(client, world):
    assert client.get("/api/v1/keys/").status_code in (401, 403)
