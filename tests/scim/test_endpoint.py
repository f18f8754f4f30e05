"""/scim/v2/ as identity providers drive it: Okta's and Entra ID's request sequences for a
hire, a manager change and a leaver, replayed against the endpoint, each ending in the right
audit events; what scim2-tester does not check (filters, paging, ETags, 401s); manager loops
refused with a SCIM error; directory groups giving roles."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, Person
from accounts.tokens import api_token_create
from governance.models import AuditEvent
from scim.models import ScimToken
from scim.tokens import scim_token_create

pytestmark = pytest.mark.django_db
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    """Requests to /scim/v2/ with a SCIM bearer token, answers as (status, JSON)."""

    def __init__(self, secret: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def __call__(self, method: str, path: str, body=None, **headers):
        response = self.client.generic(method, f"/scim/v2/{path}",
                                       json.dumps(body) if body is not None else "",
                                       content_type="application/scim+json", headers=headers)
        content = json.loads(response.content) if response.content else None
        return response.status_code, content, response


@pytest.fixture
def scim():
    return Scim(scim_token_create(actor=None, name="tests", days=30)[1])


def actions_for(person_id) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="Person", object_id=str(person_id))
                .order_by("id").values_list("action", flat=True))


def signed_in_with_a_token(person) -> tuple[Client, ApiToken]:
    browser = Client()
    browser.force_login(person)
    return browser, api_token_create(actor=person, name="script", days=10)[0]


def test_okta_hire_manager_change_and_leave(scim):
    status, boss, _ = scim("POST", "Users", {
        "schemas": [CORE], "userName": "boss@example.com", "externalId": "00u-boss",
        "name": {"givenName": "Bo", "familyName": "Ss"},
        "emails": [{"primary": True, "value": "boss@example.com", "type": "work"}],
        "displayName": "Bo Ss", "locale": "en-US", "groups": [], "active": True})
    assert status == 201
    status, ana, _ = scim("POST", "Users", {  # Okta's create, password and all
        "schemas": [CORE], "userName": "ana@example.com", "externalId": "00u-ana",
        "name": {"givenName": "Ana", "familyName": "Lima"},
        "emails": [{"primary": True, "value": "Ana@Example.com", "type": "work"}],
        "displayName": "Ana Lima", "locale": "en-US", "groups": [],
        "password": "never-stored-1!", "active": True})
    assert status == 201 and ana["active"] is True
    person = Person.objects.get(pk=int(ana["id"]))
    assert (person.email, person.name, person.has_usable_password()) == \
        ("ana@example.com", "Ana Lima", False)

    ana[ENTERPRISE] = {"manager": {"value": boss["id"]}}  # Okta's profile push is a PUT
    ana.pop("meta")
    status, body, _ = scim("PUT", f"Users/{ana['id']}", ana)
    assert status == 200 and body[ENTERPRISE]["manager"]["value"] == boss["id"]
    person.refresh_from_db()
    assert person.manager.email == "boss@example.com"

    browser, token = signed_in_with_a_token(person)
    status, body, _ = scim("PATCH", f"Users/{ana['id']}", {
        "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert status == 200 and body["active"] is False

    person.refresh_from_db()
    token.refresh_from_db()
    assert person.is_active is False and token.revoked_at is not None
    assert browser.get("/").status_code == 302  # the session is gone
    assert actions_for(person.pk) == ["person.create", "person.update", "person.deactivate"]
    leave = AuditEvent.objects.get(action="person.deactivate", object_id=str(person.pk))
    assert "via SCIM" in leave.summary and leave.after["sessions_ended"] == 1
    assert leave.after["api_tokens_revoked"] == [f"{token.prefix}…"]


def test_entra_hire_manager_change_and_leave(scim):
    status, found, _ = scim("GET", 'Users?filter=userName eq "ben@contoso.com"')
    assert status == 200 and found["totalResults"] == 0  # Entra looks before it creates
    status, lead, _ = scim("POST", "Users", {
        "schemas": [CORE, ENTERPRISE], "userName": "lead@contoso.com", "active": True,
        "emails": [{"primary": True, "type": "work", "value": "lead@contoso.com"}],
        "externalId": "lead", "displayName": "Lead"})
    assert status == 201
    status, ben, _ = scim("POST", "Users", {
        "schemas": [CORE, ENTERPRISE], "externalId": "ben", "userName": "ben@contoso.com",
        "active": True, "displayName": "Ben Ito", "meta": {"resourceType": "User"},
        "emails": [{"primary": True, "type": "work", "value": "ben@contoso.com"}],
        "name": {"formatted": "Ben Ito", "familyName": "Ito", "givenName": "Ben"},
        "title": "Engineer", "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        ENTERPRISE: {"employeeNumber": "42", "department": "Platform"}})
    assert status == 201

    status, body, _ = scim("PATCH", f"Users/{ben['id']}", {  # Entra: a bare id, "Add"
        "schemas": [PATCH], "Operations": [
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": lead["id"]}]})
    assert status == 200 and body[ENTERPRISE]["manager"]["value"] == lead["id"]

    person = Person.objects.get(pk=int(ben["id"]))
    browser, token = signed_in_with_a_token(person)
    status, body, _ = scim("PATCH", f"Users/{ben['id']}", {  # Entra: "False", a string
        "schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"}]})
    assert status == 200 and body["active"] is False
    person.refresh_from_db()
    token.refresh_from_db()
    assert person.is_active is False and person.manager.email == "lead@contoso.com"
    assert token.revoked_at is not None and browser.get("/").status_code == 302
    assert actions_for(person.pk) == ["person.create", "person.update", "person.deactivate"]
    update = AuditEvent.objects.get(action="person.update", object_id=str(person.pk))
    assert update.after == {"manager": "lead@contoso.com"}


def test_delete_is_a_leaver_and_the_user_is_gone_from_scim(scim):
    _, user, _ = scim("POST", "Users", {"schemas": [CORE], "userName": "cy@example.com",
                                        "active": True})
    person = Person.objects.get(pk=int(user["id"]))
    browser, token = signed_in_with_a_token(person)

    status, _, _ = scim("DELETE", f"Users/{user['id']}")

    assert status == 204
    assert scim("GET", f"Users/{user['id']}")[0] == 404
    person.refresh_from_db()
    token.refresh_from_db()
    assert not person.is_active and token.revoked_at is not None
    assert not Session.objects.exists()
    assert "person.deactivate" in actions_for(person.pk)
    status, again, _ = scim("POST", "Users", {"schemas": [CORE], "userName": "cy@example.com",
                                              "active": True})  # rehired: the same person
    assert status == 201 and again["id"] == user["id"]
    assert Person.objects.get(pk=person.pk).is_active


def test_a_manager_loop_is_refused_with_a_scim_error(scim):
    _, a, _ = scim("POST", "Users", {"schemas": [CORE], "userName": "a@example.com"})
    _, b, _ = scim("POST", "Users", {"schemas": [CORE], "userName": "b@example.com",
                                     ENTERPRISE: {"manager": {"value": a["id"]}}})

    status, error, _ = scim("PATCH", f"Users/{a['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": b["id"]}}]})

    assert status == 400 and error["scimType"] == "invalidValue"
    assert "manager loop" in error["detail"]
    assert Person.objects.get(pk=int(a["id"])).manager is None
    unknown = scim("PATCH", f"Users/{a['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "999999"}}]})
    assert unknown[0] == 400 and unknown[1]["scimType"] == "invalidValue"


def test_filters_by_username_and_external_id_and_pages(scim):
    for n in range(5):
        scim("POST", "Users", {"schemas": [CORE], "userName": f"p{n}@example.com",
                               "externalId": f"ext-{n}"})

    by_name = scim("GET", 'Users?filter=userName eq "P3@EXAMPLE.COM"')[1]
    by_external = scim("GET", 'Users?filter=externalId eq "ext-1"')[1]
    page = scim("GET", "Users?startIndex=2&count=2")[1]

    assert [r["userName"] for r in by_name["Resources"]] == ["p3@example.com"]
    assert [r["externalId"] for r in by_external["Resources"]] == ["ext-1"]
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["p1@example.com", "p2@example.com"]


def test_etag_if_match_refuses_a_stale_replace(scim):
    status, user, response = scim("POST", "Users", {"schemas": [CORE],
                                                    "userName": "etag@example.com"})
    etag = response.headers["ETag"]
    assert etag == user["meta"]["version"]
    patch = {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "First"}]}
    assert scim("PATCH", f"Users/{user['id']}", patch, **{"If-Match": etag})[0] == 200
    stale = scim("PATCH", f"Users/{user['id']}", patch, **{"If-Match": etag})
    assert stale[0] == 412


def test_only_a_live_scim_token_opens_the_endpoint(db):
    person = Person.objects.create_user("dev@example.com")
    _, api_secret = api_token_create(actor=person, name="api", days=5)
    token, secret = scim_token_create(actor=None, name="okta", days=5)
    expired, expired_secret = scim_token_create(actor=None, name="old", days=5)
    ScimToken.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(days=9), expires_at=timezone.now() -
        timedelta(days=1))

    assert Scim(secret)("GET", "Users")[0] == 200
    for refused in (api_secret, expired_secret, secret[:-1] + "x", ""):
        status, error, response = Scim(refused)("GET", "Users")
        assert status == 401 and "Bearer" in response.headers.get("WWW-Authenticate", "")
    assert Client().get("/scim/v2/ServiceProviderConfig").status_code == 200  # RFC 7644 §4
    assert ScimToken.objects.get(pk=token.pk).digest != secret  # only a digest is stored
    assert secret not in json.dumps(list(AuditEvent.objects.values("summary", "after")))


def test_create_scim_token_prints_the_secret_once(capsys):
    call_command("create_scim_token", "--days", "7")
    secret = capsys.readouterr().out.strip()

    assert secret.startswith("kls_") and Scim(secret)("GET", "Users")[0] == 200
    token = ScimToken.objects.get()
    assert (token.expires_at - token.created_at).days == 7 and secret not in token.digest


def test_a_directory_group_mapped_to_security_gives_and_takes_the_role(scim, settings):
    settings.KEYLEDGER_OIDC_SECURITY_GROUPS = ["Keyledger Security"]
    _, user, _ = scim("POST", "Users", {"schemas": [CORE], "userName": "sec@example.com"})
    person = Person.objects.get(pk=int(user["id"]))

    status, group, _ = scim("POST", "Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Keyledger Security", "members": [{"value": user["id"]}]})
    assert status == 201
    assert Person.objects.get(pk=person.pk).is_security

    status, _, _ = scim("PATCH", f"Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}]})
    assert status in (200, 204)
    assert not Person.objects.get(pk=person.pk).is_security
    changes = AuditEvent.objects.filter(action="person.update", object_id=str(person.pk),
                                        summary__contains="groups").order_by("id")
    assert [c.after["groups"] for c in changes] == [["Keyledger Security", "security"], []]
    assert Group.objects.filter(name="security").exists()
