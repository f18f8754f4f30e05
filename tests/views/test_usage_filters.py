"""The inventory's usage evidence filters: "used from an undeclared address" and "not used in
the window"; the CSV export and the API's key list filter the same way."""

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.summary import key_usage
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, ExceptionRequest, Finding
from tests.evidence.usage_helpers import TODAY, day_ago, declare, seen_from, used
from tests.factories import AccessKeyFactory, IamUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(people, settings):
    """The owner's keys: used from an undeclared address, from declared ones only, through
    an AWS service only, with nothing declared, used only before the window, never seen,
    and an inactive one; another owner's key used from an undeclared address; a root key."""
    settings.KEYLEDGER_EVIDENCE_DAYS = 30
    owner, other = people["owner"], people["other_owner"]
    made = {name: AccessKeyFactory(owner=owner) for name in (
        "outside", "inside", "service", "undeclared_list", "old", "never", "endpoint")}
    made["inactive"] = AccessKeyFactory(owner=owner, status=AccessKey.Status.INACTIVE)
    made["other"] = AccessKeyFactory(owner=other)
    for name in ("outside", "inside", "service", "inactive", "other"):
        declare(made[name], "203.0.113.0/24")
    for name in ("outside", "inside", "service", "undeclared_list", "inactive", "other"):
        used(made[name], day_ago(3))
    seen_from(made["outside"], day_ago(3), "203.0.113.4")
    seen_from(made["outside"], day_ago(3), "198.51.100.9")
    seen_from(made["inside"], day_ago(29), "203.0.113.5")
    seen_from(made["inside"], day_ago(30), "198.51.100.9")  # the day before the window
    seen_from(made["service"], day_ago(3), "lambda.amazonaws.com", via_aws_service=True)
    seen_from(made["undeclared_list"], day_ago(3), "198.51.100.9")
    seen_from(made["inactive"], day_ago(3), "198.51.100.9")
    seen_from(made["other"], day_ago(3), "198.51.100.10")
    declare(made["endpoint"], "vpce-0123456789abcdef0")
    used(made["endpoint"], day_ago(2))
    seen_from(made["endpoint"], day_ago(2), "10.0.0.5", vpc_endpoint_id="vpce-0123456789abcdef0")
    used(made["old"], day_ago(30))
    seen_from(made["old"], day_ago(30), "198.51.100.9")
    user = IamUserFactory(name="<root_account>")
    made["root"] = AccessKey.objects.create(account=user.account, user=user, slot=1,
                                            access_key_id=None, status="Active")
    evaluate_keys(keys=AccessKey.objects.all())
    return made


def listed(client, person, query: str) -> set[str]:
    """The inventory's rows for ``query``, checking the count it shows is their number."""
    client.force_login(person)
    response = client.get(f"{reverse('inventory')}?{query}")
    assert response.status_code == 200
    text = response.content.decode()
    rows = re.findall(r'<tr data-key="([^"]*)">', text)
    count = re.search(r'data-testid="key-count">(\d+) key', text)
    assert count and int(count.group(1)) == len(rows), (query, count, rows)
    return set(rows)


def names(keys, *wanted) -> set[str]:
    return {keys[name].access_key_id or "" for name in wanted}


def test_undeclared_source_lists_exactly_the_keys_whose_panel_shows_one(client, people,
                                                                         keys):
    shown_undeclared = {key.access_key_id for key in AccessKey.objects.filter(
        status="Active", access_key_id__isnull=False)
        if key_usage(key, today=TODAY).undeclared}
    assert shown_undeclared == names(keys, "outside", "other")
    assert listed(client, people["security"], "undeclared_source=true") == shown_undeclared


def test_undeclared_source_false_lists_the_others(client, people, keys):
    everyone = listed(client, people["security"], "")
    assert listed(client, people["security"], "undeclared_source=false") == (
        everyone - names(keys, "outside", "other"))


def test_an_owner_sees_only_their_own_keys_under_the_filter(client, people, keys):
    assert listed(client, people["owner"], "undeclared_source=true") == names(keys, "outside")


def test_unused_in_window_lists_active_keys_the_trail_did_not_see(client, people, keys):
    assert listed(client, people["security"], "unused_in_window=true") == names(
        keys, "old", "never")
    assert listed(client, people["security"], "unused_in_window=false") == names(
        keys, "outside", "inside", "service", "undeclared_list", "inactive", "other",
        "endpoint")


def test_the_filters_combine_with_the_others(client, people, keys):
    assert listed(client, people["security"],
                  "unused_in_window=false&status=Inactive") == names(keys, "inactive")


@pytest.mark.parametrize("query", ["undeclared_source=yes", "unused_in_window=1"])
def test_a_value_other_than_true_or_false_is_refused(client, people, keys, query):
    client.force_login(people["security"])
    assert client.get(f"{reverse('inventory')}?{query}").status_code == 400
    assert client.get(f"/api/v1/keys/?{query}").status_code == 400


def test_the_csv_export_and_the_api_list_filter_the_same(client, people, keys):
    client.force_login(people["security"])
    for query, expected in (("undeclared_source=true", names(keys, "outside", "other")),
                            ("unused_in_window=true", names(keys, "old", "never"))):
        response = client.get(f"{reverse('inventory-export')}?{query}")
        body = b"".join(response.streaming_content).decode()
        assert {row["access_key_id"] for row in csv.DictReader(io.StringIO(body))} == expected
        api = client.get(f"/api/v1/keys/?{query}").json()
        assert {item["access_key_id"] for item in api["results"]} == expected


def test_the_filter_bar_offers_both_with_their_explanation(client, people, keys):
    client.force_login(people["security"])
    text = client.get(reverse("inventory")).content.decode()
    assert "Used from an undeclared address" in text
    assert "Not used in the window (needs the trail read)" in text
    assert "relies on the organization trail being read" in text
    assert "unused-window-note" not in text
    for partial in ({}, {"HTTP_HX_REQUEST": "true"}):  # the page and its rows as htmx swaps
        applied = client.get(f"{reverse('inventory')}?unused_in_window=true", **partial)
        assert "as far as the trail has been read" in applied.content.decode()


def test_an_excepted_finding_still_lists_the_key(client, people, keys):
    finding = Finding.objects.get(key=keys["outside"], code="UNEXPECTED_SOURCE",
                                  resolved_at__isnull=True)
    finding.exception = ExceptionRequest.objects.create(
        key=keys["outside"], code="UNEXPECTED_SOURCE", requested_by=people["owner"],
        justification="the new office", expires_on=day_ago(-30), status="approved",
        decided_by=people["manager"], requested_at=timezone.now(), decided_at=timezone.now())
    finding.save()
    assert names(keys, "outside") <= listed(client, people["security"], "undeclared_source=true")
