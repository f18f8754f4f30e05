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


# -- throttling keys on the person, whatever the spelling of the e-mail (issue 12, item 1) ----

SPELLINGS = [
    "DANA.KOWALSKI@EXAMPLE.COM",
    " dana.kowalski@example.com",
    "Dana.Kowalski@Example.Com",
    "dana.kowalski@example.com\t",
    "  dAnA.kOwAlSkI@eXaMpLe.CoM  ",
    "dana.kowalski@example.com",
]
SIGN_IN_PAGES = {"sign-in page": "login", "admin sign-in": "admin:login"}


@pytest.fixture
def dana():
    """A superuser, so that both the dashboard and the admin would let her in."""
    return PersonFactory(email="dana.kowalski@example.com", is_staff=True, is_superuser=True)


def sign_in(client, page: str, email: str, password: str):
    return client.post(reverse(SIGN_IN_PAGES[page]), {"username": email, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("page", SIGN_IN_PAGES)
def test_the_person_signs_in_with_any_case_or_surrounding_spaces(client, dana, page):
    response = sign_in(client, page, "  Dana.KOWALSKI@example.com ", "pw-for-tests-only")
    assert response.status_code == 302 and signed_in(client)
    assert int(client.session["_auth_user_id"]) == dana.pk


@pytest.mark.parametrize("page", SIGN_IN_PAGES)
def test_failures_spread_over_spellings_lock_the_person_out_under_every_spelling(
        client, settings, dana, page):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        failed = sign_in(client, page, SPELLINGS[attempt % len(SPELLINGS)], "wrong")
        assert failed.status_code in (200, 429) and not signed_in(client)

    for spelling in SPELLINGS:
        locked = sign_in(client, page, spelling, "pw-for-tests-only")
        assert locked.status_code == 429, spelling
        assert "Too many failed sign-ins" in locked.content.decode()
        assert not signed_in(client)


def test_failures_on_one_sign_in_page_lock_the_other(client, settings, dana):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page = ["sign-in page", "admin sign-in"][attempt % 2]
        sign_in(client, page, SPELLINGS[attempt % len(SPELLINGS)], "wrong")
    for page in SIGN_IN_PAGES:
        assert sign_in(client, page, "dana.kowalski@example.com",
                       "pw-for-tests-only").status_code == 429
    assert not signed_in(client)


def test_many_spellings_never_buy_more_guesses(client, settings, dana):
    """The review's case: 64 guesses over 16 spellings. The fifth failure locks her out."""
    spellings = ["".join(c.upper() if (mask >> i) & 1 else c for i, c in enumerate("dana"))
                 + ".kowalski@example.com" for mask in range(16)]
    answers = [sign_in(client, "sign-in page", spellings[n % 16], "wrong").status_code
               for n in range(64)]
    limit = settings.AXES_FAILURE_LIMIT
    assert answers[:limit - 1] == [200] * (limit - 1)
    assert set(answers[limit - 1:]) == {429}


def test_a_person_stored_with_capitals_is_found_and_throttled_as_one(client, settings):
    PersonFactory(email="Mixed.Case@Example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "sign-in page", "mixed.case@example.com", "wrong")
    assert sign_in(client, "sign-in page", "MIXED.CASE@EXAMPLE.COM",
                   "pw-for-tests-only").status_code == 429
