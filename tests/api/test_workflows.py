"""Writes through the API: the same services as the pages, so the same rules and audit.
A service's refusal is a 400 (a rule) or a 403 (a role) with its reason in ``detail``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import AccessKey, AuditEvent, ExceptionRequest, Finding, Registration
from tests.api.conftest import owned_key

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "category": "ci_cd", "runs_where": "GitHub Actions, org acme", "justification": "deploys",
    "why_not_iam_role": "runs outside AWS", "why_not_identity_center": "not a person",
    "why_not_sts": "runner cannot present a certificate for Roles Anywhere",
    "source_restriction": "GitHub runner IP ranges", "rotation_procedure": "monthly, scripted",
    "deactivation_contact": "platform on-call",
}


def open_codes(key: AccessKey) -> set[str]:
    return set(Finding.objects.filter(key=key, resolved_at__isnull=True)
               .values_list("code", flat=True))


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def request_exception(client, key, code="ROTATION_OVERDUE", days=10):
    return client.post("/api/v1/exceptions/", {
        "key": key.pk, "code": code, "justification": "release freeze until the 20th",
        "expires_on": in_days(days)}, format="json")


def test_owner_registers_the_purpose_and_no_purpose_resolves(api, world):
    people, keys, _ = world
    key = keys["owner"]
    assert "NO_PURPOSE" in open_codes(key)
    response = api(people["owner"]).post(f"/api/v1/keys/{key.pk}/registration/", REGISTRATION,
                                         format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == "owner@example.com"
    assert response.json()["category"] == "ci_cd"
    assert "NO_PURPOSE" not in open_codes(key)
    assert AuditEvent.objects.filter(action="key.register_purpose", actor=people["owner"]).exists()
    detail = api(people["owner"]).get(f"/api/v1/keys/{key.pk}/").json()
    assert detail["purpose"] == "ci_cd" and "NO_PURPOSE" not in detail["findings"]
    assert detail["registration"]["why_not_sts"] == REGISTRATION["why_not_sts"]


@pytest.mark.parametrize("persona, status", [
    ("manager", 403), ("other_owner", 404), ("no_manager", 404),
])
def test_only_the_owner_or_security_registers(api, world, persona, status):
    people, keys, _ = world
    response = api(people[persona]).post(f"/api/v1/keys/{keys['owner'].pk}/registration/",
                                         REGISTRATION, format="json")
    assert response.status_code == status
    if status == 403:
        assert "owner or the security team" in response.json()["detail"]
    assert not Registration.objects.exists()


def test_an_incomplete_registration_is_400_and_names_the_fields(api, world):
    people, keys, _ = world
    response = api(people["owner"]).post(f"/api/v1/keys/{keys['owner'].pk}/registration/",
                                         {**REGISTRATION, "why_not_sts": "", "category": "x"},
                                         format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"why_not_sts", "category"}
    blank = api(people["owner"]).post(f"/api/v1/keys/{keys['owner'].pk}/registration/",
                                      {**REGISTRATION, "why_not_sts": "   "}, format="json")
    assert blank.status_code == 400 and list(blank.json()) == ["why_not_sts"]


def test_exception_request_then_manager_approval_excepts_the_key(api, world):
    people, keys, _ = world
    key = keys["owner"]
    assert "ROTATION_OVERDUE" in key.open_codes
    created = request_exception(api(people["owner"]), key)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "requested" and body["requested_by"] == "owner@example.com"
    assert created["Location"].endswith(f"/api/v1/exceptions/{body['id']}/")

    own = api(people["owner"]).post(f"/api/v1/exceptions/{body['id']}/approve/", {},
                                    format="json")
    assert own.status_code == 403 and "your own" in own.json()["detail"]
    elsewhere = api(people["other_manager"]).post(f"/api/v1/exceptions/{body['id']}/approve/")
    assert elsewhere.status_code == 404
    assert api(people["other_owner"]).get(f"/api/v1/exceptions/{body['id']}/").status_code == 404

    approved = api(people["manager"]).post(f"/api/v1/exceptions/{body['id']}/approve/",
                                           {"note": "ok for the freeze"}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "boss@example.com"
    key.refresh_from_db()
    assert "ROTATION_OVERDUE" not in key.open_code_list
    listed = api(people["owner"]).get(f"/api/v1/keys/{key.pk}/").json()
    assert "ROTATION_OVERDUE" not in listed["findings"]
    assert AuditEvent.objects.filter(action="exception.approve", actor=people["manager"]).exists()

    again = api(people["manager"]).post(f"/api/v1/exceptions/{body['id']}/approve/")
    assert again.status_code == 400 and "already approved" in again.json()["detail"]


def test_revoking_an_approved_exception_reopens_the_finding(api, world):
    people, keys, _ = world
    key = keys["owner"]
    exception_id = request_exception(api(people["owner"]), key).json()["id"]
    api(people["manager"]).post(f"/api/v1/exceptions/{exception_id}/approve/")
    url = f"/api/v1/exceptions/{exception_id}/revoke/"
    assert api(people["security"]).post(url, {}, format="json").status_code == 400
    revoked = api(people["security"]).post(url, {"note": "incident"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    key.refresh_from_db()
    assert "ROTATION_OVERDUE" in key.open_code_list


def test_reject_needs_a_reason_and_withdraw_is_the_requesters(api, world):
    people, keys, _ = world
    client = api(people["owner"])
    first = request_exception(client, keys["owner"]).json()["id"]
    no_reason = api(people["manager"]).post(f"/api/v1/exceptions/{first}/reject/")
    assert no_reason.status_code == 400 and "say why" in no_reason.json()["detail"]
    rejected = api(people["manager"]).post(f"/api/v1/exceptions/{first}/reject/",
                                           {"note": "rotate it instead"}, format="json")
    assert rejected.json()["status"] == "rejected"

    second = request_exception(client, keys["owner"]).json()["id"]
    by_manager = api(people["manager"]).post(f"/api/v1/exceptions/{second}/withdraw/")
    assert by_manager.status_code == 403
    withdrawn = client.post(f"/api/v1/exceptions/{second}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    statuses = client.get("/api/v1/exceptions/?mine=true").json()["results"]
    assert {e["status"] for e in statuses} == {"rejected", "withdrawn"}


@pytest.mark.parametrize("change, status, message", [
    ({"code": "NO_PURPOSE"}, 400, "cannot be waived"),
    ({"code": "UNUSED"}, 400, "not open on this key"),
    ({"days": 0}, 400, "in the future"),
    ({"days": 400}, 400, "at most"),
])
def test_an_invalid_exception_request_is_400_with_the_reason(api, world, change, status,
                                                             message):
    people, keys, _ = world
    response = request_exception(api(people["owner"]), keys["owner"], **change)
    assert response.status_code == status and message in response.json()["detail"]
    assert not ExceptionRequest.objects.exists()


def test_an_exception_on_a_key_outside_scope_is_refused_like_a_missing_one(api, world):
    people, keys, _ = world
    outside = request_exception(api(people["other_owner"]), keys["owner"])
    missing = api(people["other_owner"]).post("/api/v1/exceptions/", {
        "key": 999999, "code": "ROTATION_OVERDUE", "justification": "x",
        "expires_on": in_days(5)}, format="json")
    assert outside.status_code == missing.status_code == 400
    assert outside.json()["key"][0].replace(str(keys["owner"].pk), "N") == \
        missing.json()["key"][0].replace("999999", "N")
    manager = request_exception(api(people["manager"]), keys["owner"])
    assert manager.status_code == 403


def test_a_second_open_request_for_the_same_finding_is_400(api, world):
    people, keys, _ = world
    client = api(people["owner"])
    assert request_exception(client, keys["owner"]).status_code == 201
    second = request_exception(client, keys["owner"])
    assert second.status_code == 400 and "already open" in second.json()["detail"]


def test_awaiting_lists_what_the_person_may_decide(api, world):
    people, keys, _ = world
    exception_id = request_exception(api(people["owner"]), keys["owner"]).json()["id"]
    awaiting = api(people["manager"]).get("/api/v1/exceptions/?awaiting=true").json()
    assert [e["id"] for e in awaiting["results"]] == [exception_id]
    assert api(people["owner"]).get("/api/v1/exceptions/?awaiting=true").json()["count"] == 0
    bad = api(people["owner"]).get("/api/v1/exceptions/?awaiting=maybe")
    assert bad.status_code == 400 and "awaiting" in bad.json()


# -- the key's owner never decides; an approval never extends nor approves a passed expiry ---

def test_the_keys_owner_cannot_decide_an_exception_on_it(api, world):
    people, _keys, _ = world
    key = owned_key("boss@example.com")  # the manager's own key
    exception_id = request_exception(api(people["security"]), key).json()["id"]
    for action, data in (("approve", {}), ("reject", {"note": "no"})):
        refused = api(people["manager"]).post(f"/api/v1/exceptions/{exception_id}/{action}/",
                                              data, format="json")
        assert refused.status_code == 403, action
        assert "you own this key" in refused.json()["detail"], action
    assert ExceptionRequest.objects.get(pk=exception_id).status == "requested"
    awaiting = api(people["manager"]).get("/api/v1/exceptions/?awaiting=true").json()
    assert exception_id not in [e["id"] for e in awaiting["results"]]
    approved = api(people["other_manager"]).post(f"/api/v1/exceptions/{exception_id}/approve/")
    assert approved.status_code == 200 and approved.json()["decided_by"] == "boss2@example.com"


def test_an_api_approval_cannot_extend_the_requested_expiry(api, world):
    people, keys, _ = world
    exception_id = request_exception(api(people["owner"]), keys["owner"], days=10).json()["id"]
    url = f"/api/v1/exceptions/{exception_id}/approve/"
    for later in (11, 90):
        refused = api(people["manager"]).post(url, {"expires_on": in_days(later)},
                                              format="json")
        assert refused.status_code == 400, later
        assert "not extend it" in refused.json()["detail"], later
    exception = ExceptionRequest.objects.get(pk=exception_id)
    assert exception.status == "requested" and exception.expires_on.isoformat() == in_days(10)
    shorter = api(people["manager"]).post(url, {"expires_on": in_days(5)}, format="json")
    assert shorter.status_code == 200 and shorter.json()["expires_on"] == in_days(5)


@pytest.mark.parametrize("days_ago", [0, 1, 20])
def test_an_api_approval_of_a_request_whose_expiry_passed_is_400(api, world, days_ago):
    people, keys, _ = world
    exception_id = request_exception(api(people["owner"]), keys["owner"], days=10).json()["id"]
    ExceptionRequest.objects.filter(pk=exception_id).update(expires_on=in_days(-days_ago))
    url = f"/api/v1/exceptions/{exception_id}/approve/"
    for data in ({}, {"expires_on": in_days(5)}):
        refused = api(people["manager"]).post(url, data, format="json")
        assert refused.status_code == 400
        assert "reject the request and ask for a new one" in refused.json()["detail"]
    assert ExceptionRequest.objects.get(pk=exception_id).status == "requested"
