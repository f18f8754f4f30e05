"""The Django admin changes people only through the audited services (issue 12, item 3).

Every test drives the real admin pages through the test client, signed in as a superuser.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, Person
from accounts.tokens import api_token_create
from governance.models import AuditEvent
from tests.accounts.admin_forms import admin_change
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = PersonFactory(email="admin@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.fixture
def owner():
    Group.objects.get_or_create(name="security")
    Group.objects.get_or_create(name="manager")
    return PersonFactory(email="owner@example.com", name="Olive Owner")


def events_about(person):
    return [(e.actor_label, e.action, e.before, e.after)
            for e in AuditEvent.objects.filter(object_type="Person", object_id=str(person.pk))
            .order_by("id")]


def test_making_an_owner_a_security_team_member_is_audited(admin_client, owner):
    security = Group.objects.get(name="security")
    response = admin_change(admin_client, owner, groups=[str(security.pk)])

    assert response.status_code == 302
    assert Person.objects.get(pk=owner.pk).is_security
    assert events_about(owner) == [
        ("admin@example.com", "person.update", {"groups": []}, {"groups": ["security"]})]
    event = AuditEvent.objects.get()
    assert event.actor == admin_client.admin and "admin" in event.summary


def test_an_edit_of_name_manager_and_flags_is_one_audited_update(admin_client, owner):
    boss = PersonFactory(email="boss@example.com")
    response = admin_change(admin_client, owner, name="Olive O.", manager=str(boss.pk),
                            is_staff="on", email=" OWNER.NEW@Example.com ")

    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.email, owner.name, owner.manager, owner.is_staff) == (
        "owner.new@example.com", "Olive O.", boss, True)
    assert events_about(owner) == [(
        "admin@example.com", "person.update",
        {"email": "owner@example.com", "name": "Olive Owner", "manager": None,
         "is_staff": False},
        {"email": "owner.new@example.com", "name": "Olive O.", "manager": "boss@example.com",
         "is_staff": True})]


def test_saving_without_a_change_writes_no_event(admin_client, owner):
    assert admin_change(admin_client, owner).status_code == 302
    assert events_about(owner) == []


def test_deactivating_ends_sessions_and_tokens_and_reactivating_revives_neither(
        admin_client, owner):
    owner_browser = Client()
    owner_browser.force_login(owner)
    _, secret = api_token_create(actor=owner, name="ci", days=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert owner_browser.get(reverse("overview")).status_code == 200
    assert api.get("/api/v1/keys/").status_code == 200

    assert admin_change(admin_client, owner, is_active=None).status_code == 302

    token = ApiToken.objects.get(person=owner)
    assert token.revoked_at is not None
    assert events_about(owner)[-1] == (
        "admin@example.com", "person.deactivate", {"is_active": True},
        {"is_active": False, "sessions_ended": 1, "api_tokens_revoked": [f"{token.prefix}…"]})
    assert owner_browser.get(reverse("overview")).status_code == 302
    assert api.get("/api/v1/keys/").status_code == 401

    assert admin_change(admin_client, owner, is_active="on").status_code == 302

    assert Person.objects.get(pk=owner.pk).is_active
    assert events_about(owner)[-1] == (
        "admin@example.com", "person.reactivate", {"is_active": False}, {"is_active": True})
    assert owner_browser.get(reverse("overview")).status_code == 302
    assert api.get("/api/v1/keys/").status_code == 401
    assert admin_client.get(reverse("overview")).status_code == 200  # the admin is still in


def test_a_manager_loop_is_refused_on_the_form(admin_client, owner):
    boss = PersonFactory(email="boss@example.com", manager=owner)
    response = admin_change(admin_client, owner, manager=str(boss.pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["manager"] == [
        "manager loop: owner@example.com -> boss@example.com -> owner@example.com"]
    assert Person.objects.get(pk=owner.pk).manager is None
    assert events_about(owner) == []


def test_adding_a_person_is_audited(admin_client):
    response = admin_client.post(reverse("admin:accounts_person_add"), {
        "email": " New.Person@Example.com", "name": "New Person", "usable_password": "true",
        "password1": "a-long-enough-password-42", "password2": "a-long-enough-password-42"})

    assert response.status_code == 302
    person = Person.objects.get(email="new.person@example.com")
    assert person.check_password("a-long-enough-password-42")
    assert events_about(person) == [("admin@example.com", "person.create", None, {
        "email": "new.person@example.com", "name": "New Person", "manager": None, "groups": [],
        "is_active": True, "is_staff": False, "is_superuser": False})]


def test_a_password_set_in_the_admin_is_audited_without_the_password(admin_client, owner):
    url = reverse("admin:auth_user_password_change", args=[owner.pk])  # Django names it so
    response = admin_client.post(url, {"password1": "another-long-password-7",
                                       "password2": "another-long-password-7",
                                       "usable_password": "true", "set-password": "1"})

    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another-long-password-7")
    assert events_about(owner) == [("admin@example.com", "person.set_password",
                                    {"usable_password": True}, {"usable_password": True})]
    stored = " ".join(str(v) for v in AuditEvent.objects.values().get().values())
    assert "another-long-password-7" not in stored and owner.password not in stored


def test_people_are_never_deleted_in_the_admin(admin_client, owner):
    url = reverse("admin:accounts_person_delete", args=[owner.pk])
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    changelist = admin_client.post(reverse("admin:accounts_person_changelist"),
                                   {"action": "delete_selected", "_selected_action": [owner.pk],
                                    "post": "yes"})
    assert changelist.status_code in (200, 302)
    assert Person.objects.filter(pk=owner.pk).exists()
