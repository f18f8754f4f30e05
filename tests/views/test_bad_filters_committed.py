"""Bad inventory filters on Postgres outside the test transaction: a 400 or the page, never
a 500.

The inventory once reused its count while a Postgres snapshot was unchanged, and skipped that
inside a transaction that had written. The ordinary tests run in one such transaction, so
they never reached the cache: there, an invalid filter's empty queryset raised
``EmptyResultSet`` when the cache built its SQL. The cache is gone (the count is capped
instead), and these tests stay: every request runs in its own transaction, as in production.
"""

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Each value is refused by the KeyFilter (unknown choice, not an id, a NUL in the text).
BAD_FILTERS = [
    ("status", "bogus"), ("sort", "abc"), ("account", "abc"), ("finding", "x"),
    ("q", "\x00"), ("element", "x"), ("compliance", "x"), ("age", "x"), ("last_used", "x"),
    ("account", "999999"),
]
IDS = [f"{name}={value!r}" for name, value in BAD_FILTERS]


@pytest.fixture
def people(people):
    assert connection.vendor == "postgresql", "these pages' failures were Postgres-only"
    AccessKeyFactory(owner="owner@example.com", evaluated=True)
    return people


@pytest.mark.parametrize("name, value", BAD_FILTERS, ids=IDS)
def test_the_inventory_refuses_a_bad_filter_with_a_400_page(client, people, name, value):
    for persona in ("security", "owner"):
        client.force_login(people[persona])
        response = client.get(reverse("inventory"), {name: value})
        assert response.status_code == 400, persona
        assert response.context["filter"].errors[name], persona
        assert response.context["page"].paginator.count == 0, persona
        partial = client.get(reverse("inventory"), {name: value},
                             headers={"HX-Request": "true"})
        assert partial.status_code == 400, persona


def test_the_export_returns_to_the_inventory_saying_the_filters_are_bad(client, people):
    client.force_login(people["security"])
    for name, value in BAD_FILTERS:
        response = client.get(reverse("inventory-export"), {name: value}, follow=True)
        assert response.redirect_chain == [(reverse("inventory"), 302)], name
        assert response.status_code == 200, name
        assert "The export filters are not valid." in response.content.decode(), name


def test_the_api_refuses_a_bad_filter_with_a_400_naming_it(people):
    api = APIClient()
    api.force_login(people["security"])
    for name, value in BAD_FILTERS:
        response = api.get("/api/v1/keys/", {name: value})
        assert response.status_code == 400, name
        assert name in response.json(), name


def test_good_filters_still_count_outside_a_transaction(client, people):
    """Valid filters count right outside a transaction, an empty match too."""
    client.force_login(people["security"])
    for params, count in [({}, 1), ({"status": "Active"}, 1), ({"status": "Inactive"}, 0),
                          ({"q": "no-such-key"}, 0)]:
        for _ in range(2):  # the same answer twice
            response = client.get(reverse("inventory"), params)
            assert response.status_code == 200, params
            assert response.context["page"].paginator.count == count, params
