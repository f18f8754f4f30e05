"""The people services: deactivation revokes for good, on every path (issue 12, item 3)."""

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, Person
from accounts.services import person_update
from accounts.tokens import api_token_create
from governance.models import AuditEvent
from tests.factories import PersonFactory, personas

pytestmark = pytest.mark.django_db


def signed_in_with_token(person):
    browser = Client()
    browser.force_login(person)
    _, secret = api_token_create(actor=person, name="ci", days=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return browser, api


def sessions_of(person) -> int:
    return sum(s.get_decoded().get("_auth_user_id") == str(person.pk)
               for s in Session.objects.all())


def test_the_security_team_deactivating_a_leaver_ends_sessions_and_tokens():
    people = personas()
    owner = people["owner"]
    browser, api = signed_in_with_token(owner)
    bystander, bystander_api = signed_in_with_token(people["other_owner"])

    person_update(actor=people["security"], person=owner, is_active=False)

    assert sessions_of(owner) == 0 and sessions_of(people["other_owner"]) == 1
    assert api.get("/api/v1/keys/").status_code == 401
    event = AuditEvent.objects.get(action="person.deactivate")
    assert (event.actor, event.object_id) == (people["security"], str(owner.pk))
    assert event.after["sessions_ended"] == 1 and len(event.after["api_tokens_revoked"]) == 1

    Person.objects.filter(pk=owner.pk).update(is_active=True)  # however they come back

    assert browser.get(reverse("overview")).status_code == 302
    assert api.get("/api/v1/keys/").status_code == 401
    assert bystander.get(reverse("overview")).status_code == 200
    assert bystander_api.get("/api/v1/keys/").status_code == 200


def test_tokens_already_revoked_are_not_revoked_again():
    person = PersonFactory(email="dev@example.com")
    old, _ = api_token_create(actor=person, name="old", days=5)
    ApiToken.objects.filter(pk=old.pk).update(revoked_at="2020-01-01T00:00:00Z")

    person_update(actor=None, person=person, is_active=False)

    assert str(ApiToken.objects.get(pk=old.pk).revoked_at.year) == "2020"
    assert AuditEvent.objects.get(action="person.deactivate").after["api_tokens_revoked"] == []


def test_a_manager_loop_is_refused_by_the_service():
    a = PersonFactory(email="a@example.com")
    b = PersonFactory(email="b@example.com", manager=a)
    c = PersonFactory(email="c@example.com", manager=b)
    with pytest.raises(ValidationError, match="a@example.com -> c@example.com -> b@example.com"):
        person_update(actor=None, person=a, manager=c)
    with pytest.raises(ValidationError, match="their own manager"):
        person_update(actor=None, person=a, manager=a)
    assert Person.objects.get(pk=a.pk).manager is None
    assert not AuditEvent.objects.exists()
