"""Sign-in: the form works, and repeated failures lock the e-mail out (django-axes)."""

import pytest
from django.urls import reverse

from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_sign_in_and_out(client):
    PersonFactory(email="owner@example.com")
    response = client.post(reverse("login"), {"username": "owner@example.com",
                                              "password": "pw-for-tests-only"})
    assert response.status_code == 302 and response.url == reverse("overview")
    assert client.get(reverse("overview")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("overview")).status_code == 302


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, settings):
    PersonFactory(email="owner@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        failed = client.post(reverse("login"), {"username": "owner@example.com",
                                                "password": "wrong"})
        assert "did not match" in failed.content.decode() or failed.status_code == 429
    locked = client.post(reverse("login"), {"username": "owner@example.com",
                                            "password": "pw-for-tests-only"})
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert client.get(reverse("overview")).status_code == 302


def test_inactive_people_cannot_sign_in(client):
    PersonFactory(email="gone@example.com", is_active=False)
    response = client.post(reverse("login"), {"username": "gone@example.com",
                                              "password": "pw-for-tests-only"})
    assert response.status_code == 200 and "did not match" in response.content.decode()
