"""UNEXPECTED_SOURCE is a public code like the others: the API's filters and schema enumerate
it, the API and the CSV export carry it, and the owner's list of needs links to the form
where the sources are declared."""

import csv
import io
import json

import pytest
from django.urls import reverse

from governance.evaluation import evaluate_keys
from tests.evidence.usage_helpers import day_ago, declare, seen_from
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def used_elsewhere(people):
    key = AccessKeyFactory(owner="owner@example.com")
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(0), "198.51.100.7", events=2)
    evaluate_keys()
    key.refresh_from_db()
    return key


def test_the_schema_enumerates_the_code(api, people):
    schema = json.loads(api(people["security"]).get("/api/v1/schema/?format=json").content)
    enums = [parameter["schema"].get("enum", [])
             for path in schema["paths"].values() for operation in path.values()
             for parameter in operation.get("parameters", []) if parameter["name"] == "code"]
    assert enums and all("UNEXPECTED_SOURCE" in e for e in enums)


def test_the_api_filters_and_carries_the_code(api, people, used_elsewhere):
    client = api(people["owner"])
    found = client.get("/api/v1/findings/", {"code": "UNEXPECTED_SOURCE"}).json()
    keys = {row["id"]: row for row in client.get("/api/v1/keys/").json()["results"]}
    assert [f["key"] for f in found["results"]] == [used_elsewhere.pk]
    assert found["results"][0]["severity"] == "high"
    assert "198.51.100.7" in found["results"][0]["reason"]
    assert "UNEXPECTED_SOURCE" in keys[used_elsewhere.pk]["findings"]


def test_the_csv_export_carries_the_code(client, people, used_elsewhere):
    client.force_login(people["security"])
    response = client.get(reverse("inventory-export"))
    text = b"".join(response.streaming_content).decode()
    rows = {r["access_key_id"]: r for r in csv.DictReader(io.StringIO(text))}
    codes = rows[used_elsewhere.access_key_id]["findings"].split(";")
    assert "UNEXPECTED_SOURCE" in codes and codes == sorted(codes)


def test_the_inventory_filter_and_the_key_page_name_it(client, people, used_elsewhere):
    client.force_login(people["owner"])
    listed = client.get(reverse("inventory"), {"finding": "UNEXPECTED_SOURCE"})
    assert used_elsewhere.access_key_id in listed.content.decode()
    page = client.get(reverse("key-detail", args=[used_elsewhere.pk])).content.decode()
    assert "Key used from an undeclared source" in page and "198.51.100.7" in page


def test_the_owners_need_links_to_the_declared_sources(client, people, used_elsewhere):
    client.force_login(people["owner"])
    page = client.get(reverse("my-keys")).content.decode()
    link = reverse("key-register", args=[used_elsewhere.pk]) + "#sources"
    assert f'href="{link}"' in page and "Declare sources" in page
    assert "Find out who used the key from the addresses the finding names" in page
