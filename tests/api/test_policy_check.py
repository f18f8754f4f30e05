"""``POST /api/v1/policy-check/``: the judgement ``check_policy`` prints, for any signed-in
person or token holder; bad input answered with a 400 naming the field."""

import json
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/policy-check/"
LIMIT = 1_048_576  # settings.DATA_UPLOAD_MAX_MEMORY_SIZE
ADMIN = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
OFFICE_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "dynamodb:PutItem",
    "Resource": "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
    "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}]}


def body(*policies) -> dict:
    return {"policies": list(policies)}


def proposed(name="deploy", kind="user-inline", document=None) -> dict:
    return {"name": name, "kind": kind, "document": ADMIN if document is None else document}


def test_a_key_owner_gets_the_verdicts_and_their_reasons(api, people):
    response = api(people["owner"]).post(URL, body(proposed("AdministratorAccess",
                                                            "group-attached")), format="json")

    assert response.status_code == 200
    answer = response.json()
    assert answer["admin"] is True and answer["source_restricted"] is False
    assert answer["escalation"] is False
    assert set(answer["reasons"]) == {"admin", "escalation", "source"}
    assert 'attached policy "AdministratorAccess" (group)' in answer["reasons"]["admin"]
    assert answer["warnings"] == []


def test_a_confined_least_privilege_policy_raises_nothing(api, people):
    response = api(people["no_manager"]).post(URL, body(proposed(document=OFFICE_ONLY)),
                                              format="json")

    answer = response.json()
    assert response.status_code == 200
    assert (answer["admin"], answer["escalation"], answer["source_restricted"]) == \
        (False, False, True)
    assert "aws:SourceIp" in answer["reasons"]["source"]


@pytest.mark.parametrize("spelling", ["json-string", "url-encoded"])
def test_documents_as_text_are_judged_like_objects(api, people, spelling):
    text = json.dumps(OFFICE_ONLY)
    document = text if spelling == "json-string" else quote(text, safe="")
    client = api(people["owner"])

    as_text = client.post(URL, body(proposed(document=document)), format="json").json()
    as_object = client.post(URL, body(proposed(document=OFFICE_ONLY)), format="json").json()

    assert as_text == as_object


def test_the_check_writes_nothing(api, people):
    api(people["owner"]).post(URL, body(proposed()), format="json")

    assert not AuditEvent.objects.exists()


def test_a_statement_without_effect_comes_back_as_a_warning(api, people):
    document = {"Statement": [{"Action": "*", "Resource": "*"}]}

    answer = api(people["owner"]).post(URL, body(proposed(document=document)),
                                       format="json").json()

    assert answer["admin"] is False
    assert answer["warnings"][0].startswith(
        'policies[0].document.Statement[0]: has no "Effect"')


S0 = "policies[0].document.Statement[0]"
BAD_BODIES = [
    ("list-body", [proposed()], "non_field_errors", "the body must be a JSON object"),
    ("bare-document", ADMIN, "policies", "to check a single document, send"),
    ("unknown-top-field", {**body(proposed()), "dry_run": True}, "non_field_errors",
     'unknown element "dry_run"'),
    ("policies-object", {"policies": proposed()}, "policies", "must be a list of policies"),
    ("item-string", body(proposed(), "AdministratorAccess"), "policies[1]",
     "must be an object"),
    ("no-kind", body(proposed(), proposed(), {"name": "x", "document": ADMIN}),
     "policies[2].kind", "this field is required"),
    ("unknown-kind", body(proposed(), proposed(), proposed(kind="role-inline")),
     "policies[2].kind", 'got "role-inline"'),
    ("name-not-string", body({**proposed(), "name": ["a"]}), "policies[0].name",
     "must be a string, got a list"),
    ("name-too-long", body(proposed(name="n" * 129)), "policies[0].name",
     "at most 128 characters"),
    ("document-null", body({"name": "p", "kind": "user-inline", "document": None}),
     "policies[0].document", "must be a policy document (a JSON object, or a string holding "
                             "one), got null"),
    ("document-not-json", body(proposed(document="{Statement")), "policies[0].document",
     "not JSON"),
    ("no-statement", body(proposed(document={"Version": "2012-10-17"})),
     "policies[0].document", 'has no "Statement"'),
    ("bad-version", body(proposed(document={**ADMIN, "Version": "2012-10-18"})),
     "policies[0].document.Version", 'got "2012-10-18"'),
    ("effect-permit", body(proposed(document={"Statement": [
        {"Effect": "Permit", "Action": "*", "Resource": "*"}]})), S0,
     'Effect must be "Allow" or "Deny", got "Permit"'),
    ("no-action", body(proposed(document={"Statement": [
        {"Effect": "Allow", "Resource": "*"}]})), S0, 'needs "Action" or "NotAction"'),
    ("both-resources", body(proposed(document={"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}]})), S0,
     'has both "Resource" and "NotResource"'),
    ("action-bool", body(proposed(document={"Statement": [
        {"Effect": "Allow", "Action": True, "Resource": "*"}]})), f"{S0}.Action",
     "got a boolean"),
    ("condition-string", body(proposed(document={"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": "office"}]})),
     f"{S0}.Condition", "must be an object of operators"),
]


@pytest.mark.parametrize("data, field, message", [case[1:] for case in BAD_BODIES],
                         ids=[case[0] for case in BAD_BODIES])
def test_bad_input_is_a_400_naming_the_field(api, people, data, field, message):
    response = api(people["owner"]).post(URL, data, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message in errors[field][0]


@pytest.mark.parametrize("raw", ['{"policies": [', "\x00", "[" * 100_000, "\xff\xfe"],
                         ids=["truncated", "nul", "deeply-nested", "not-utf8"])
def test_malformed_json_is_a_400_saying_so(api, people, raw):
    response = api(people["owner"]).generic("POST", URL,
                                            raw.encode("utf-8", "surrogateescape"),
                                            content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_a_form_body_is_refused_as_unsupported(api, people):
    response = api(people["owner"]).post(URL, {"policies": "x"})

    assert response.status_code == 415


def test_a_body_over_the_limit_is_a_413(api, people):
    padded = body(proposed(name="p", document=json.dumps(ADMIN) + " " * LIMIT))

    response = api(people["owner"]).post(URL, padded, format="json")

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_anonymous_callers_are_401(api, people):
    response = api(None).post(URL, body(proposed()), format="json")

    assert response.status_code == 401
    assert "admin" not in response.json()


def test_an_unknown_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer kl_" + "x" * 43)

    assert client.post(URL, body(proposed()), format="json").status_code == 401


def test_an_api_token_works_without_csrf(people):
    _, secret = api_token_create(actor=people["owner"], name="pipeline", days=5)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.post(URL, body(proposed(document=OFFICE_ONLY)), format="json")

    assert response.status_code == 200
    assert response.json()["source_restricted"] is True


def test_a_session_post_without_the_csrf_token_is_403(people):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(people["owner"])

    response = client.post(URL, body(proposed()), format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_schema_documents_the_request_and_the_answer(api, people):
    schema = api(people["owner"]).get("/api/v1/schema/?format=json").json()

    operation = schema["paths"][URL]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    components = schema["components"]["schemas"]
    assert components[request.rsplit("/", 1)[-1]]["required"] == ["policies"]
    assert set(components[answer.rsplit("/", 1)[-1]]["properties"]) == {
        "admin", "escalation", "source_restricted", "reasons", "warnings"}
    assert "400" in operation["responses"]
