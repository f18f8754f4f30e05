"""The exceptions page and the audit log filter with FilterSets, as the API's lists do: the
exceptions page takes the API's filters within its tab, and a bad value is a 400 naming it;
the audit log's free text is cleaned, never refused."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.services.exceptions import exception_request
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(people):
    key = AccessKeyFactory(owner="owner@example.com", days_old=200, evaluated=True)
    other = AccessKeyFactory(owner="owner@example.com", days_old=200, evaluated=True)
    expires_on = timezone.localdate() + timedelta(days=10)
    exceptions = [exception_request(actor=people["owner"], key=k, code="ROTATION_OVERDUE",
                                    justification="freeze", expires_on=expires_on)
                  for k in (key, other)]
    return people, key, exceptions


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {e.pk for e in response.context["page"]}


def test_the_exceptions_page_takes_the_api_filters_within_its_tab(client, requested):
    people, key, (first, second) = requested
    client.force_login(people["security"])
    url = reverse("exceptions")
    assert listed(client.get(url, {"tab": "all"})) == {first.pk, second.pk}
    assert listed(client.get(url, {"tab": "all", "key": key.pk})) == {first.pk}
    assert listed(client.get(url, {"tab": "all", "code": "UNUSED"})) == set()
    assert listed(client.get(url, {"tab": "all", "awaiting": "true",
                                   "status": "requested"})) == {first.pk, second.pk}
    assert listed(client.get(url, {"tab": "mine", "mine": "false"})) == set()


@pytest.mark.parametrize("name, value", [("status", "bogus"), ("awaiting", "yes"),
                                         ("key", "abc"), ("code", "NOT_A_RULE")])
def test_a_bad_exception_filter_is_a_400_naming_it(client, requested, name, value):
    people, _key, _ = requested
    client.force_login(people["security"])
    response = client.get(reverse("exceptions"), {"tab": "all", name: value})
    assert response.status_code == 400
    assert response.context["filter"].errors[name]
    assert response.context["page"].paginator.count == 0


def test_the_audit_log_cleans_its_free_text_instead_of_refusing_it(client, requested):
    people, _key, _ = requested
    client.force_login(people["security"])
    response = client.get(reverse("audit-log"), {"action": "exception.request\x00",
                                                 "actor": "  owner@\x07example.com "})
    assert response.status_code == 200
    assert response.context["current"] == {"action": "exception.request",
                                           "actor": "owner@example.com", "q": "",
                                           "since": None, "until": None}
    assert response.context["page"].paginator.count == 2
