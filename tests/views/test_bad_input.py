"""Hostile query strings and bodies on every page, the export and the API: a 4xx with a
message, or a sane page — never a 500.

A person pasting a mangled link, a script probing the API, or a client sending a huge
body must learn what is wrong; none of them may see (or cause) a server error.
"""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Person
from governance.models import AccessKey, AuditEvent, ExceptionRequest
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db

BAD_PAGES = ["0", "-1", "abc", str(10**30), "1e3", "1.5", "", "\x00", "٣", "²", "9" * 5000]
# b"\xff\xfe" is sent as %FF%FE: a query string that is not UTF-8.
BAD_TEXT = ["\x00", "%00", "<script>", "' OR 1=1 --", "\u202e", "x" * 10_000, b"\xff\xfe",
            "٣", "²", "\x1b[31m", "=cmd|' /C calc'!A0"]
LIMIT = 1_048_576  # settings.DATA_UPLOAD_MAX_MEMORY_SIZE

# (url name, args, the query parameters the page reads)
PAGES = [
    ("overview", [], ["page"]),
    ("inventory", [], ["page", "q", "owner", "sort", "account", "status", "age", "removed"]),
    ("inventory-export", [], ["q", "owner", "sort", "account", "finding", "last_used"]),
    ("key-lookup", [], ["key_id"]),
    ("my-keys", [], ["page", "reports_page"]),
    ("ownership-gaps", [], ["page", "gap"]),
    ("rotation", [], ["page", "account"]),
    ("exceptions", [], ["page", "tab", "status"]),
    ("audit-log", [], ["page", "action", "actor", "q", "since", "until"]),
    ("audit-log-export", [], ["action", "q", "since", "until"]),
    ("aws-accounts", [], ["page"]),
    ("api-tokens", [], ["page"]),
]
API_LISTS = {
    "/api/v1/keys/": ["q", "owner", "sort", "account", "account_id", "removed", "compliance"],
    "/api/v1/findings/": ["key", "account_id", "code", "open", "severity"],
    "/api/v1/exceptions/": ["key", "status", "awaiting", "mine"],
    "/api/v1/accounts/": ["enabled", "source"],
    "/api/v1/sync-runs/": ["account", "status", "trigger"],
}


@pytest.fixture
def people(people):
    """The personas, and an evaluated overdue key of the owner's with an audit event."""
    key = AccessKeyFactory(owner="owner@example.com", days_old=200, evaluated=True)
    AuditEvent.objects.create(actor_label="sec@example.com", action="key.assign_owner",
                              object_type="AccessKey", object_id=str(key.pk), summary="x",
                              at=timezone.now())
    return people


def _persona(name: str) -> str:
    """Managers see my-keys' second list; everything else is the security team's view."""
    return "manager" if name == "my-keys" else "security"


def _assert_handled(response, *, ok_statuses=(200, 302, 400, 404)):
    assert response.status_code in ok_statuses, response.status_code
    if response.status_code == 400 and not getattr(response, "streaming", False):
        assert response.content.strip(), "a 400 says what is wrong"


@pytest.mark.parametrize("name, args, params", PAGES, ids=[p[0] for p in PAGES])
@pytest.mark.parametrize("value", BAD_PAGES + BAD_TEXT, ids=repr)
def test_a_page_answers_any_query_value_without_a_server_error(client, people, name, args,
                                                               params, value):
    client.force_login(people[_persona(name)])
    query = {param: value for param in params}
    response = client.get(f"{reverse(name, args=args)}?{urlencode(query)}")
    _assert_handled(response)


@pytest.mark.parametrize("name, args, params", PAGES, ids=[p[0] for p in PAGES])
def test_unknown_parameters_are_ignored(client, people, name, args, params):
    client.force_login(people[_persona(name)])
    response = client.get(reverse(name, args=args), {"bogus": "1", "page[]": "2",
                                                     "__proto__": "x"})
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("value", ["0", "-1", "abc", str(10**30), "\x00"], ids=repr)
def test_a_bad_page_number_shows_a_real_page(client, people, value):
    """The pages never error on a page number: the first (or last) page is shown."""
    client.force_login(people["security"])
    response = client.get(reverse("inventory"), {"page": value})
    assert response.status_code == 200
    assert response.context["page"].number == 1


@pytest.mark.parametrize("path, params", list(API_LISTS.items()), ids=list(API_LISTS))
@pytest.mark.parametrize("value", BAD_PAGES + BAD_TEXT, ids=repr)
def test_an_api_list_answers_any_query_value_with_a_4xx_and_a_message(people, path, params,
                                                                      value):
    client = APIClient()
    client.force_login(people["security"])
    query = {param: value for param in [*params, "page", "page_size"]}
    response = client.get(f"{path}?{urlencode(query)}")
    assert response.status_code in (200, 400, 404), response.status_code
    if response.status_code != 200:
        assert response.json(), "the error body says what is wrong"


@pytest.mark.parametrize("value", ["0", "-1", "abc", str(10**30), "\x00"], ids=repr)
def test_an_api_page_out_of_range_is_a_404_saying_invalid_page(people, value):
    client = APIClient()
    client.force_login(people["security"])
    response = client.get("/api/v1/keys/", {"page": value})
    assert response.status_code == 404
    assert "Invalid page" in response.json()["detail"]


@pytest.mark.parametrize("expires_on", ["2024-13-45", "0000-00-00", "99999-01-01",
                                        "yesterday", "\x00", "9999-12-31", "0001-01-01"])
def test_bad_dates_are_refused_with_a_message(client, people, expires_on):
    key = AccessKey.objects.get()
    client.force_login(people["owner"])
    page = client.post(reverse("exception-new", args=[key.pk]), {
        "code": "ROTATION_OVERDUE", "justification": "freeze", "expires_on": expires_on})
    assert page.status_code == 400
    assert page.context["form"].errors["expires_on"]
    api = APIClient()
    api.force_login(people["owner"])
    response = api.post("/api/v1/exceptions/", {"key": key.pk, "code": "ROTATION_OVERDUE",
                                                "justification": "freeze",
                                                "expires_on": expires_on}, format="json")
    assert response.status_code == 400
    body = response.json()  # the field's error, or the service's refusal in ``detail``
    assert (body.get("expires_on") or [body.get("detail")])[0]
    assert not ExceptionRequest.objects.exists()


def test_an_oversized_form_post_is_refused_with_a_message(client, people):
    key = AccessKey.objects.get()
    client.force_login(people["owner"])
    response = client.post(reverse("key-register", args=[key.pk]),
                           {"category": "other", "justification": "x" * (LIMIT + 1)})
    assert response.status_code == 413
    assert b"too large" in response.content.lower()
    assert not key.registrations.exists()


def test_a_body_just_under_the_limit_reaches_the_form(client, people):
    """The limit refuses only what is over it: a long answer gets the form's own message."""
    key = AccessKey.objects.get()
    client.force_login(people["owner"])
    response = client.post(reverse("key-register", args=[key.pk]),
                           {"category": "other", "justification": "x" * (LIMIT // 2)})
    assert response.status_code == 400
    assert response.context["form"].errors["justification"]


@pytest.mark.parametrize("content_type", ["application/json",
                                          "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=BoUnDaRy"])
def test_an_oversized_api_body_is_refused_with_a_message(people, content_type):
    key = AccessKey.objects.get()
    client = APIClient()
    client.force_login(people["owner"])
    body = json.dumps({"category": "other", "justification": "x" * (LIMIT + 1)})
    response = client.generic("POST", f"/api/v1/keys/{key.pk}/registration/", body,
                              content_type=content_type)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"].lower()


def test_malformed_json_is_a_400_saying_so(people):
    key = AccessKey.objects.get()
    client = APIClient()
    client.force_login(people["owner"])
    for body in ['{"category": ', "\x00", '"just a string"', "[1, 2]", "\xff\xfe"]:
        response = client.generic("POST", f"/api/v1/keys/{key.pk}/registration/",
                                  body.encode("utf-8", "surrogateescape"),
                                  content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()


def _api_posts() -> list[str]:
    """Every API operation that reads a body, on objects that exist (withdraw reads none)."""
    key = AccessKey.objects.get()
    pending = ExceptionRequest.objects.create(
        key=key, code="ROTATION_OVERDUE",
        requested_by=Person.objects.get(email="owner@example.com"), justification="x",
        expires_on=timezone.localdate() + timedelta(days=5), requested_at=timezone.now())
    return [f"/api/v1/keys/{key.pk}/registration/", "/api/v1/exceptions/",
            *(f"/api/v1/exceptions/{pending.pk}/{action}/"
              for action in ("approve", "reject", "revoke")),
            "/api/v1/policy-check/"]


@pytest.mark.parametrize("body", [
    '{"category": "\\ud800"}', '{"note": "ok \\udfff"}', '{"\\ud800": "x"}',
    '{"policies": [{"name": "p", "kind": "user-inline", "document": {"Sid": "\\udc00"}}]}',
    '[{"deep": [["\\ud83d"]]}]',
], ids=["value", "note", "key", "policy-document", "nested"])
def test_a_lone_surrogate_in_json_is_a_400_on_every_endpoint(people, body):
    """``"\\ud800"`` is valid JSON syntax but no character: refused before any view reads it
    (an error message quoting it could not even be encoded)."""
    client = APIClient()
    client.force_login(people["security"])
    for path in _api_posts():
        response = client.generic("POST", path, body, content_type="application/json")
        assert response.status_code == 400, path
        assert "lone surrogate" in response.json()["detail"], path


def test_json_nested_too_deeply_is_a_400_on_every_endpoint(people):
    """``[`` 100,000 times is 100 kB, well inside the body limit; json raises RecursionError."""
    client = APIClient()
    client.force_login(people["security"])
    paths = _api_posts()
    for body in ("[" * 100_000, '{"a":' * 100_000):
        for path in paths:
            response = client.generic("POST", path, body, content_type="application/json")
            assert response.status_code == 400, path
            assert "nested too deeply" in response.json()["detail"], path


def test_a_surrogate_pair_is_a_character_and_accepted(people):
    """A properly paired escape (``"\\ud83d\\ude00"``, one emoji) is valid text."""
    key = AccessKey.objects.get()
    client = APIClient()
    client.force_login(people["owner"])
    body = {name: "ok" for name in ("runs_where", "justification", "why_not_iam_role",
                                    "why_not_identity_center", "why_not_sts",
                                    "source_restriction", "rotation_procedure",
                                    "deactivation_contact")}
    raw = json.dumps({**body, "category": "other", "justification": "\U0001f600 build"})
    response = client.generic("POST", f"/api/v1/keys/{key.pk}/registration/", raw,
                              content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["justification"] == "\U0001f600 build"


def test_too_many_form_fields_are_refused_with_a_message(client, people):
    client.force_login(people["security"])
    response = client.post(reverse("aws-accounts"), {f"f{i}": "1" for i in range(500)})
    assert response.status_code in (400, 413)



def test_too_many_api_form_fields_are_a_400_saying_so(people):
    key = AccessKey.objects.get()
    client = APIClient()
    client.force_login(people["owner"])
    response = client.post(f"/api/v1/keys/{key.pk}/registration/",
                           urlencode({f"f{i}": "1" for i in range(500)}),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "too many" in response.json()["detail"].lower()


@pytest.mark.parametrize("name, persona, data, field", [
    ("api-tokens", "owner", {"name": "ci", "days": "9" * 5000}, "days"),
    ("api-tokens", "owner", {"name": "ci\x00", "days": "5"}, "name"),
    ("api-tokens", "owner", {"name": "x" * 10_000, "days": "5"}, "name"),
    ("aws-accounts", "security", {"account_id": "١٢٣٤٥٦٧٨٩٠١٢", "name": "a"}, "account_id"),
    ("aws-accounts", "security", {"account_id": "123456789012", "name": "a",
                                  "role_arn": "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/R"}, "role_arn"),
    ("aws-accounts", "security", {"account_id": "123456789012", "name": "a\x00"}, "name"),
    ("aws-accounts", "security", {"account_id": "123456789012", "name": "a",
                                  "role_arn": "<script>"}, "role_arn"),
], ids=["days-5000-digits", "name-nul", "name-10k", "arabic-digits", "arabic-digits-arn",
        "account-name-nul",
        "role-arn-markup"])
def test_a_form_field_refuses_bad_input_with_its_own_message(client, people, name, persona,
                                                            data, field):
    client.force_login(people[persona])
    response = client.post(reverse(name), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
