"""Error answers are Keyledger pages that say what happened, never Django's bare defaults
or a stack trace."""

import pytest

from tests.factories import personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(client):
    person = personas()["security"]
    client.force_login(person)
    return client


def test_a_missing_key_is_a_404_page_that_says_so(security):
    response = security.get("/keys/99999999/")
    assert response.status_code == 404
    assert b"Not found" in response.content and b"outside what you may see" in response.content


def test_a_bad_host_is_a_400_page_that_says_nothing_changed(security):
    response = security.get("/", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert b"Bad request" in response.content and b"Nothing was changed" in response.content


@pytest.mark.urls("tests.views.error_urls")
def test_a_failure_is_a_500_page_without_details(security):
    security.raise_request_exception = False
    response = security.get("/broken/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"RuntimeError" not in response.content and b"must not see" not in response.content
