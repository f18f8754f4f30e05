"""The key detail's ``usage`` (DESIGN.md public interfaces): its shape, its values (those the
key page's Usage panel shows), who sees it, and the OpenAPI schema that describes it."""

import json

import pytest
from drf_spectacular.validation import validate_schema

from governance.models import AccessKey
from tests.evidence.usage_helpers import day_ago, declare, seen_from, used
from tests.factories import IamUserFactory

from .conftest import owned_key

pytestmark = pytest.mark.django_db

USAGE_FIELDS = {"window_days", "addresses", "user_agents", "actions", "regions", "errors"}


@pytest.fixture(autouse=True)
def window(settings):
    settings.KEYLEDGER_EVIDENCE_DAYS = 30


def detail(client, key) -> dict:
    response = client.get(f"/api/v1/keys/{key.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_usage_says_what_the_trail_shows(api, people):
    key = owned_key("owner@example.com")
    declare(key, "203.0.113.0/24")
    used(key, day_ago(4), events=30, errors=2, agents={"Terraform/1.9": 20, "aws-cli/2": 10},
         actions={f"ec2:Describe{n}": n for n in range(1, 13)} | {"s3:GetObject": 30},
         regions={"eu-west-1": 25, "us-east-1": 5})
    used(key, day_ago(40), events=999, errors=99)  # before the window
    seen_from(key, day_ago(4), "203.0.113.8", events=20, first_hour=8, last_hour=18)
    seen_from(key, day_ago(4), "198.51.100.3", events=9, first_hour=11, last_hour=12)
    seen_from(key, day_ago(4), "ec2.amazonaws.com", events=1, via_aws_service=True)
    usage = detail(api(people["owner"]), key)["usage"]
    assert set(usage) == USAGE_FIELDS
    assert usage["window_days"] == 30 and usage["errors"] == 2
    assert usage["addresses"] == [
        {"address": "198.51.100.3", "declared": False,
         "first_seen": f"{day_ago(4)}T11:00:00Z", "last_seen": f"{day_ago(4)}T12:00:00Z",
         "events": 9},
        {"address": "203.0.113.8", "declared": True,
         "first_seen": f"{day_ago(4)}T08:00:00Z", "last_seen": f"{day_ago(4)}T18:00:00Z",
         "events": 20},
        {"address": "ec2.amazonaws.com", "declared": None,
         "first_seen": f"{day_ago(4)}T09:00:00Z", "last_seen": f"{day_ago(4)}T17:00:00Z",
         "events": 1}]
    assert usage["user_agents"] == ["Terraform/1.9", "aws-cli/2"]
    assert usage["regions"] == ["eu-west-1", "us-east-1"]
    assert len(usage["actions"]) == 10
    assert usage["actions"][:2] == [{"action": "s3:GetObject", "events": 30},
                                    {"action": "ec2:Describe12", "events": 12}]


def test_a_key_without_evidence_and_a_root_key_have_empty_usage(api, people):
    key = owned_key("owner@example.com")
    user = IamUserFactory(name="<root_account>")
    root = AccessKey.objects.create(account=user.account, user=user, slot=1,
                                    access_key_id=None, status="Active")
    empty = {"window_days": 30, "addresses": [], "user_agents": [], "actions": [],
             "regions": [], "errors": 0}
    assert detail(api(people["owner"]), key)["usage"] == empty
    assert detail(api(people["security"]), root)["usage"] == empty


def test_usage_is_only_on_keys_the_person_may_see(api, people):
    key = owned_key("owner@example.com")
    seen_from(key, day_ago(1), "198.51.100.3")
    assert detail(api(people["security"]), key)["usage"]["addresses"][0]["address"] == (
        "198.51.100.3")
    response = api(people["other_owner"]).get(f"/api/v1/keys/{key.pk}/")
    assert response.status_code == 404 and b"198.51.100.3" not in response.content
    assert api(None).get(f"/api/v1/keys/{key.pk}/").status_code in (401, 403)


def test_the_key_list_carries_no_usage(api, people):
    owned_key("owner@example.com")
    items = api(people["owner"]).get("/api/v1/keys/").json()["results"]
    assert items and all("usage" not in item for item in items)


def test_the_schema_describes_usage(api, people):
    schema = json.loads(api(people["owner"]).get("/api/v1/schema/?format=json").content)
    validate_schema(schema)
    components = schema["components"]["schemas"]
    assert components["KeyDetail"]["properties"]["usage"]["allOf"][0]["$ref"].endswith(
        "/Usage")
    usage = components["Usage"]["properties"]
    assert set(usage) == USAGE_FIELDS
    assert usage["user_agents"] == {"type": "array", "items": {"type": "string"},
                                    "readOnly": True, "description": "the most events first"}
    address = components["UsageAddress"]["properties"]
    assert set(address) == {"address", "declared", "first_seen", "last_seen", "events"}
    assert address["declared"]["nullable"] is True
    assert address["first_seen"]["format"] == "date-time"
    assert set(components["UsageAction"]["properties"]) == {"action", "events"}
