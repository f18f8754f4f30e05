"""The purpose registration's "why not" answers checked against the way-out evidence: where
the evidence says an alternative is available, the form says so and the owner must confirm
the reason still holds; the confirmation is kept in the registration's audit."""

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent, Registration
from reduction.models import IdentityCenterAssignment, IdentityCenterPerson
from tests.factories import AccessKeyFactory, AccountFactory

pytestmark = pytest.mark.django_db

ANSWERS = {"category": "local_development", "runs_where": "my laptop",
           "justification": "terraform plans", "why_not_iam_role": "not in AWS",
           "why_not_identity_center": "my CLI tool cannot do SSO",
           "why_not_sts": "no issuer", "declared_sources": "203.0.113.0/24",
           "rotation_procedure": "every 90 days", "deactivation_contact": "me"}
SENTENCE = ("You already have the `Developer` permission set on prod (222222222222) through "
            "Identity Center: use `aws sso login` and deactivate this key.")


@pytest.fixture
def human_key(people):
    prod = AccountFactory(account_id="222222222222", name="prod")
    person = IdentityCenterPerson.objects.create(email="owner@example.com", user_id="u-1",
                                                 read_at=timezone.now())
    IdentityCenterAssignment.objects.create(person=person, account_id=prod.account_id,
                                            permission_set_arn="arn:ps/1",
                                            permission_set_name="Developer")
    return AccessKeyFactory(owner=people["owner"], user__account=prod,
                            user__password_enabled=True, evaluated=True)


def test_the_form_shows_the_evidence_under_the_matching_answer(client, people, human_key):
    client.force_login(people["owner"])
    page = client.get(reverse("key-register", args=[human_key.pk])).content.decode()

    assert 'data-testid="evidence-why_not_identity_center"' in page
    assert "You already have the <code>Developer</code> permission set on prod" in page
    assert 'name="confirm_why_not_identity_center"' in page
    assert "evidence-why_not_iam_role" not in page and "evidence-why_not_sts" not in page


def test_an_unconfirmed_answer_is_a_form_error_and_nothing_is_saved(client, people, human_key):
    client.force_login(people["owner"])
    response = client.post(reverse("key-register", args=[human_key.pk]), ANSWERS)

    assert response.status_code == 400
    assert "confirm your reason still holds" in response.content.decode()
    assert not Registration.objects.filter(key=human_key).exists()


def test_a_confirmed_answer_registers_and_the_audit_keeps_the_evidence(client, people,
                                                                       human_key):
    client.force_login(people["owner"])
    response = client.post(reverse("key-register", args=[human_key.pk]),
                           {**ANSWERS, "confirm_why_not_identity_center": "on"})

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="key.register_purpose", object_id=str(human_key.pk))
    assert event.after["confirmed_despite_evidence"] == {"why_not_identity_center": SENTENCE}


def test_without_contrary_evidence_nothing_needs_confirming(client, people):
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)  # no Identity Center read
    client.force_login(people["owner"])
    page = client.get(reverse("key-register", args=[key.pk])).content.decode()
    assert "confirm_why_not" not in page

    response = client.post(reverse("key-register", args=[key.pk]), ANSWERS)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="key.register_purpose", object_id=str(key.pk))
    assert "confirmed_despite_evidence" not in event.after
