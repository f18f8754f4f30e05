"""The keys list: the same filter as the inventory page and the CSV export (so the three
agree), the export's columns as JSON types, filters by AWS account id, 400 for unknown
filter values and unknown parameters, constant queries, the OpenAPI schema that describes
it all and the reference page that shows it."""

import csv
import io
import json
from datetime import timedelta

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.validation import validate_schema

from governance.evaluation import evaluate_keys
from governance.exports import KEY_EXPORT_COLUMNS
from governance.filters import KeyFilter
from governance.models import AccessKey
from governance.services.exceptions import exception_approve, exception_request
from governance.services.keys import RegistrationInput, purpose_register

from .conftest import owned_key

pytestmark = pytest.mark.django_db

PATHS = ["/api/v1/keys/", "/api/v1/keys/{id}/", "/api/v1/keys/{id}/registration/",
         "/api/v1/findings/", "/api/v1/exceptions/", "/api/v1/exceptions/{id}/",
         "/api/v1/exceptions/{id}/approve/", "/api/v1/exceptions/{id}/reject/",
         "/api/v1/exceptions/{id}/withdraw/", "/api/v1/exceptions/{id}/revoke/",
         "/api/v1/accounts/", "/api/v1/accounts/{id}/", "/api/v1/sync-runs/"]


@pytest.fixture
def mixed(world):
    """More keys of every age, one with its overdue rotation excepted, one inactive."""
    people, keys, _ = world
    for email, days in [("owner@example.com", 100), ("owner@example.com", 80),
                        ("other@example.com", 120), ("nobody@example.com", 300)]:
        owned_key(email, days_old=days)
    owned_key("owner@example.com", days_old=150, status=AccessKey.Status.INACTIVE)
    excepted = owned_key("owner@example.com", days_old=95)
    exception = exception_request(actor=people["owner"], key=excepted, code="ROTATION_OVERDUE",
                                  justification="freeze",
                                  expires_on=timezone.localdate() + timedelta(days=5))
    exception_approve(actor=people["manager"], exception=exception)
    return people, keys, excepted


def api_rows(client, query: str) -> list[dict]:
    response = client.get(f"/api/v1/keys/?page_size=500&{query}")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def as_csv_text(item: dict) -> dict:
    """An API key item's export columns as the CSV writes them (numbers and lists as text)."""
    row = {c: item[c] for c in KEY_EXPORT_COLUMNS}
    row["age_days"] = "" if item["age_days"] is None else str(item["age_days"])
    row["findings"] = ";".join(item["findings"])
    return row


def export_rows(client, query: str) -> list[dict]:
    response = client.get(f"{reverse('inventory-export')}?{query}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("persona", ["security", "manager", "owner"])
@pytest.mark.parametrize("query", ["finding=ROTATION_OVERDUE", "element=updates&sort=-age",
                                   "owner=none", "compliance=excepted", "age=91-180"])
def test_the_api_and_the_csv_export_list_the_same_keys_alike(client, api, mixed, persona,
                                                             query):
    people, _, _ = mixed
    client.force_login(people[persona])
    listed = api_rows(api(people[persona]), query)
    exported = export_rows(client, query)
    key_filter = KeyFilter(dict(p.split("=") for p in query.split("&")),
                           queryset=AccessKey.objects.visible_to(people[persona]))
    assert key_filter.is_valid()
    expected = list(key_filter.qs.values_list("access_key_id", flat=True))
    assert [row["access_key_id"] for row in listed] == expected
    assert [row["access_key_id"] for row in exported] == expected
    assert [as_csv_text(row) for row in listed] == exported


def test_rotation_overdue_leaves_out_excepted_and_inactive_keys(api, mixed):
    people, keys, excepted = mixed
    listed = {row["id"] for row in api_rows(api(people["security"]), "finding=ROTATION_OVERDUE")}
    assert keys["owner"].pk in listed and excepted.pk not in listed
    assert all(AccessKey.objects.get(pk=pk).status == "Active" for pk in listed)
    assert len(listed) == 5


def test_a_key_item_has_the_export_columns_an_id_a_link_and_its_scorecard(api, world):
    people, keys, _ = world
    item = api_rows(api(people["owner"]), "")[0]
    assert list(item)[:2] == ["id", "url"]
    assert set(KEY_EXPORT_COLUMNS) <= set(item)
    assert item["url"].endswith(f"/api/v1/keys/{keys['owner'].pk}/")
    assert item["owner_email"] == "owner@example.com" and item["age_days"] == 200
    assert "ROTATION_OVERDUE" in item["findings"] and item["findings"] == sorted(item["findings"])
    card = {entry["element"]: entry for entry in item["scorecard"]}
    assert list(card) == ["purpose", "permissions", "source", "updates", "auditing"]
    assert card["updates"]["verdict"] == "fail" and card["updates"]["reasons"]
    assert "digest" not in json.dumps(item) and "password" not in json.dumps(item)


def test_key_detail_adds_findings_registration_and_owner_gap(api, world):
    people, keys, _ = world
    key = keys["owner"]
    purpose_register(actor=people["owner"], key=key, data=RegistrationInput(
        category="saas", runs_where="vendor", justification="sync", why_not_iam_role="external",
        why_not_identity_center="not a person", why_not_sts="vendor cannot",
        source_restriction="vendor IPs", rotation_procedure="quarterly",
        deactivation_contact="on-call"))
    detail = api(people["owner"]).get(f"/api/v1/keys/{key.pk}/").json()
    assert detail["registration"]["category"] == "saas"
    assert detail["registration"]["owner"] == "owner@example.com"
    assert {f["code"] for f in detail["open_findings"]} >= {"ROTATION_OVERDUE"}
    assert detail["owner_gap"] == "" and detail["removed_at"] is None


@pytest.mark.parametrize("query, field", [
    ("status=bogus", "status"), ("finding=NOT_A_RULE", "finding"), ("age=2-3", "age"),
    ("sort=colour", "sort"), ("account=999999", "account"), ("compliance=maybe", "compliance"),
])
def test_an_unknown_filter_value_is_400_with_a_message(api, world, query, field):
    people, _, _ = world
    response = api(people["security"]).get(f"/api/v1/keys/?{query}")
    assert response.status_code == 400
    assert field in response.json() and response.json()[field][0]


@pytest.mark.parametrize("path", ["/api/v1/findings/?code=NOPE", "/api/v1/findings/?open=yes",
                                  "/api/v1/exceptions/?status=pending",
                                  "/api/v1/sync-runs/?status=done"])
def test_other_lists_refuse_unknown_filter_values_too(api, world, path):
    people, _, _ = world
    assert api(people["security"]).get(path).status_code == 400


def test_findings_filter_by_code_and_open(api, world):
    people, keys, _ = world
    client = api(people["security"])
    overdue = client.get("/api/v1/findings/?code=ROTATION_OVERDUE&open=true").json()["results"]
    assert {f["key"] for f in overdue} == {keys["owner"].pk, keys["other_owner"].pk}
    assert all(f["is_open"] and f["resolved_at"] is None for f in overdue)
    assert client.get("/api/v1/findings/?open=false").json()["count"] == 0


def test_paging_is_drfs(api, world):
    people, _, _ = world
    client = api(people["security"])
    first = client.get("/api/v1/keys/?page_size=2").json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    assert client.get("/api/v1/keys/?page=9").status_code == 404


def test_the_keys_list_costs_the_same_queries_for_3_or_30_keys(api, world):
    people, _, _ = world
    client = api(people["security"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/keys/").status_code == 200
        return len(captured)

    few = queries()
    for n in range(27):
        owned_key(["owner@example.com", "other@example.com", "x@example.com"][n % 3],
                  days_old=20 + n * 7)
    evaluate_keys(keys=AccessKey.objects.all())
    assert AccessKey.objects.count() == 30
    assert queries() == few


def test_the_schema_is_valid_openapi_describing_every_resource(api, world):
    people, _, _ = world
    client = api(people["owner"])
    as_json = client.get("/api/v1/schema/?format=json")
    assert as_json.status_code == 200
    schema = json.loads(as_json.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert set(PATHS) <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    key_fields = schema["components"]["schemas"]["Key"]["properties"]
    assert set(KEY_EXPORT_COLUMNS) <= set(key_fields)
    for secret in ("digest", "password", "external_id"):
        assert secret not in as_json.content.decode()

    as_yaml = client.get("/api/v1/schema/")
    assert as_yaml.status_code == 200
    assert yaml.safe_load(as_yaml.content)["paths"].keys() == schema["paths"].keys()


def test_keys_and_findings_filter_by_the_aws_account_id(api, world):
    people, keys, run = world
    client = api(people["security"])
    aws_id = keys["owner"].account.account_id
    assert keys["other_owner"].account.account_id != aws_id

    listed = client.get(f"/api/v1/keys/?account_id={aws_id}").json()["results"]
    findings = client.get(f"/api/v1/findings/?account_id={aws_id}").json()["results"]
    runs = client.get(f"/api/v1/sync-runs/?account_id={aws_id}").json()["results"]
    accounts = client.get(f"/api/v1/accounts/?account_id={aws_id}").json()["results"]

    assert [row["id"] for row in listed] == [keys["owner"].pk]
    assert {f["key"] for f in findings} == {keys["owner"].pk}
    assert [r["id"] for r in runs] == [run.pk]
    assert [a["account_id"] for a in accounts] == [aws_id]
    # Keyledger's own id of the account still works where it did (compatibility).
    by_pk = client.get(f"/api/v1/keys/?account={keys['owner'].account.pk}").json()["results"]
    assert [row["id"] for row in by_pk] == [keys["owner"].pk]
    # Another person's scope still applies: the owner never sees other accounts' keys.
    other = keys["other_owner"].account.account_id
    assert api(people["owner"]).get(f"/api/v1/keys/?account_id={other}").json()["count"] == 0
    for bad in ("12345", "12345678901a", f"{aws_id}0"):
        response = client.get(f"/api/v1/keys/?account_id={bad}")
        assert response.status_code == 400 and "12 digits" in response.json()["account_id"][0]


@pytest.mark.parametrize("path, unknown", [
    ("/api/v1/keys/?acount_id=123456789012", ["acount_id"]),
    ("/api/v1/keys/?status=Active&colour=red&size=2", ["colour", "size"]),
    ("/api/v1/findings/?severity=high&account=1", ["account"]),
    ("/api/v1/accounts/?name=prod", ["name"]),
    ("/api/v1/sync-runs/?since=2025-01-01", ["since"]),
    ("/api/v1/exceptions/?key_id=1", ["key_id"]),
    ("/api/v1/keys/{id}/?page=2", ["page"]),
])
def test_an_unknown_query_parameter_is_400_naming_it_not_every_row(api, world, path, unknown):
    people, keys, _ = world
    response = api(people["security"]).get(path.replace("{id}", str(keys["owner"].pk)))
    assert response.status_code == 400
    body = response.json()
    assert body["unknown"] == unknown
    assert all(name in body["detail"] for name in unknown)


def test_unknown_parameters_are_checked_after_who_may_ask(api, world):
    people, _, _ = world
    assert api(None).get("/api/v1/keys/?colour=red").status_code in (401, 403)
    assert api(people["owner"]).get("/api/v1/accounts/?colour=red").status_code == 403


def test_the_api_reference_page_serves_vendored_swagger_ui_for_signed_in_people(client, world):
    people, _, _ = world
    assert client.get(reverse("api-docs")).status_code == 302  # to sign in
    client.force_login(people["owner"])
    html = client.get(reverse("api-docs")).content.decode()
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in html and "keyledger/api-docs.js" in html
    assert f'data-schema-url="{reverse("api-schema")}?format=json"' in html
    assert "<script>" not in html and "cdn" not in html.lower()
