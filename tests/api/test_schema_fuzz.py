"""The API fuzzed from its own OpenAPI schema: whatever a client sends, never a 500.

The schema is read live from ``/api/v1/schema/`` with a personal API token (it needs sign-in
like the rest of the API), then schemathesis generates requests for every operation,
writes included (purpose registration, exception requests and their actions), and sends
them through Django's WSGI app. Two personas run it: the security team (sees everything)
and a key owner (sees their own keys only), each with a token of their own.

Path ids are narrowed to the objects of the small world below (plus one that does not
exist), so the write actions reach real rows instead of 404ing on random integers.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.tokens import api_token_create
from governance.models import AccessKey, AwsAccount, ExceptionRequest, Finding, SyncRun
from governance.services.exceptions import exception_approve, exception_request

pytestmark = pytest.mark.django_db(transaction=True)

MISSING_ID = 987_654_321
EXAMPLES = 30


def _exceptions(people, keys) -> list[ExceptionRequest]:
    """A requested and an approved exception, so every action has something to act on."""
    expires = timezone.localdate() + timedelta(days=10)
    requested = exception_request(actor=people["owner"], key=keys["owner"],
                                  code="ROTATION_OVERDUE", justification="freeze",
                                  expires_on=expires)
    approved = exception_request(actor=people["other_owner"], key=keys["other_owner"],
                                 code="ROTATION_OVERDUE", justification="freeze",
                                 expires_on=expires)
    exception_approve(actor=people["other_manager"], exception=approved)
    return [requested, approved]


def _ids_of_the_world() -> dict[str, list[int]]:
    """Path parameter name -> the ids worth trying on each resource's URLs."""
    return {
        "keys": list(AccessKey.objects.values_list("pk", flat=True)),
        "exceptions": list(ExceptionRequest.objects.values_list("pk", flat=True)),
        "accounts": list(AwsAccount.objects.values_list("pk", flat=True)),
        "findings": list(Finding.objects.values_list("pk", flat=True)),
        "sync-runs": list(SyncRun.objects.values_list("pk", flat=True)),
    }


def _narrow_path_ids(raw: dict, ids: dict[str, list[int]]) -> dict:
    """The schema with each ``{id}`` limited to known ids of its resource, and one unknown."""
    for path, operations in raw["paths"].items():
        resource = path.removeprefix("/api/v1/").split("/")[0]
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) \
                    else []:
                if parameter["in"] == "path" and parameter["name"] == "id":
                    parameter["schema"] = {"type": "integer",
                                           "enum": [*ids.get(resource, []), MISSING_ID]}
    return raw


@pytest.fixture(params=["security", "owner"])
def persona(request, world):
    """The persona the fuzzing runs as, and the bearer header of their own API token."""
    people, keys, _ = world
    _exceptions(people, keys)
    _, secret = api_token_create(actor=people[request.param], name="fuzz", days=1)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api_schema(persona):
    """The live schema as the persona receives it, served by the WSGI app under test."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=persona["Authorization"])
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    loaded = schemathesis.openapi.from_dict(_narrow_path_ids(response.json(),
                                                             _ids_of_the_world()))
    loaded.app = get_wsgi_application()
    return loaded


def _failures(operation, mode: GenerationMode, headers: dict) -> dict[str, str]:
    """The distinct failures on ``operation`` over its examples, each with one reproduction."""
    failures = {}
    checks = [not_a_server_error]
    if mode is GenerationMode.POSITIVE:
        checks.append(response_schema_conformance)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def send(case):
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' failures: report all
            what = f"{operation.label} ({mode}): {str(exc)[:1500]}"
            failures.setdefault(what.split("Reproduce with")[0], what)

    send()
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_from_the_schema_makes_the_api_fail(api_schema, persona, mode):
    """Valid requests get a response their schema describes; invalid ones a 4xx, never a 5xx."""
    failures = {}
    for result in api_schema.get_all_operations():
        failures.update(_failures(result.ok(), mode, persona))
    assert not failures, "\n\n".join(failures.values())


def test_the_fuzzed_schema_is_the_live_one(api_schema):
    """Narrowing ids must not drop an operation: every write action is still fuzzed."""
    operations = {(op.method.upper(), op.path) for op in
                  (result.ok() for result in api_schema.get_all_operations())}
    assert ("POST", "/api/v1/keys/{id}/registration/") in operations
    assert ("POST", "/api/v1/exceptions/") in operations
    assert ("POST", "/api/v1/policy-check/") in operations
    for action in ("approve", "reject", "withdraw", "revoke"):
        assert ("POST", f"/api/v1/exceptions/{{id}}/{action}/") in operations
