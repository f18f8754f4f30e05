"""Every API endpoint as every persona: what each sees, and 401 / 403 / 404 where not.

Visibility is decided by the ``visible_to`` querysets; these tests prove the API starts
from them: lists hold exactly the person's keys, an object outside their scope is 404
(never confirming it exists), security-only resources are 403 for everyone else, and
anonymous or inactive callers are 401.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.services.exceptions import exception_request

pytestmark = pytest.mark.django_db

SIGNED_IN = ("security", "manager", "other_manager", "owner", "other_owner", "no_manager")
VISIBLE_KEYS = {
    "security": {"owner", "other_owner", "no_manager"},
    "manager": {"owner"},
    "other_manager": {"other_owner"},
    "owner": {"owner"},
    "other_owner": {"other_owner"},
    "no_manager": {"no_manager"},
}
SEES_OWNERS_OBJECTS = {"security", "manager", "owner"}


@pytest.fixture
def requested(world):
    people, keys, run = world
    exception = exception_request(actor=people["owner"], key=keys["owner"],
                                  code="ROTATION_OVERDUE", justification="release freeze",
                                  expires_on=timezone.localdate() + timedelta(days=10))
    return people, keys, run, exception


def client_of(api, people, persona):
    return api(None if persona == "anonymous" else people[persona])


def names_of(keys, ids) -> set[str]:
    by_id = {key.pk: name for name, key in keys.items()}
    return {by_id[i] for i in ids}


@pytest.mark.parametrize("persona", SIGNED_IN)
def test_keys_list_holds_exactly_the_persons_keys(api, world, persona):
    people, keys, _ = world
    response = api(people[persona]).get("/api/v1/keys/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(VISIBLE_KEYS[persona])
    assert names_of(keys, [item["id"] for item in body["results"]]) == VISIBLE_KEYS[persona]


@pytest.mark.parametrize("persona", SIGNED_IN)
def test_a_key_outside_the_persons_scope_is_404(api, world, persona):
    people, keys, _ = world
    response = api(people[persona]).get(f"/api/v1/keys/{keys['owner'].pk}/")
    if persona in SEES_OWNERS_OBJECTS:
        assert response.status_code == 200
        assert response.json()["access_key_id"] == keys["owner"].access_key_id
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("persona", SIGNED_IN)
def test_findings_are_only_those_of_visible_keys(api, world, persona):
    people, keys, _ = world
    client = api(people[persona])
    body = client.get("/api/v1/findings/?page_size=500").json()
    assert body["count"] > 0
    assert names_of(keys, {item["key"] for item in body["results"]}) == VISIBLE_KEYS[persona]
    filtered = client.get(f"/api/v1/findings/?key={keys['owner'].pk}").json()
    assert (filtered["count"] > 0) == (persona in SEES_OWNERS_OBJECTS)


@pytest.mark.parametrize("persona", SIGNED_IN)
def test_exceptions_are_listed_and_opened_only_within_scope(api, requested, persona):
    people, _, _, exception = requested
    client = api(people[persona])
    listed = {item["id"] for item in client.get("/api/v1/exceptions/").json()["results"]}
    detail = client.get(f"/api/v1/exceptions/{exception.pk}/")
    if persona in SEES_OWNERS_OBJECTS:
        assert listed == {exception.pk}
        assert detail.status_code == 200 and detail.json()["requested_by"] == "owner@example.com"
    else:
        assert listed == set()
        assert detail.status_code == 404


@pytest.mark.parametrize("persona", SIGNED_IN)
@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/accounts/{account}/",
                                  "/api/v1/sync-runs/"])
def test_accounts_and_sync_runs_are_for_the_security_team(api, world, persona, path):
    people, keys, run = world
    response = api(people[persona]).get(path.format(account=keys["owner"].account_id))
    if persona == "security":
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "security team" in response.json()["detail"]


def test_security_sees_accounts_and_sync_runs_without_secrets(api, world):
    people, keys, run = world
    client = api(people["security"])
    accounts = client.get("/api/v1/accounts/").json()
    assert {a["account_id"] for a in accounts["results"]} == {
        k.account.account_id for k in keys.values()}
    assert all("external_id" not in a for a in accounts["results"])
    runs = client.get(f"/api/v1/sync-runs/?account={run.account_id}&status=succeeded").json()
    assert [r["id"] for r in runs["results"]] == [run.pk]
    assert runs["results"][0]["account_id"] == keys["owner"].account.account_id
    assert client.get("/api/v1/sync-runs/?status=failed").json()["count"] == 0


@pytest.mark.parametrize("persona", ["anonymous", "leaver"])
def test_anonymous_and_inactive_callers_get_401_everywhere(api, requested, persona):
    people, keys, _, exception = requested
    client = client_of(api, people, persona)
    paths = ["/api/v1/", "/api/v1/keys/", f"/api/v1/keys/{keys['owner'].pk}/",
             "/api/v1/findings/", "/api/v1/exceptions/", f"/api/v1/exceptions/{exception.pk}/",
             "/api/v1/accounts/", "/api/v1/sync-runs/", "/api/v1/schema/"]
    answers = {path: client.get(path).status_code for path in paths}
    assert answers == {path: 401 for path in paths}
    posted = client.post(f"/api/v1/exceptions/{exception.pk}/approve/", {}, format="json")
    assert posted.status_code == 401
    assert client.get("/api/v1/keys/")["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("persona", SIGNED_IN)
def test_the_api_root_and_schema_answer_every_signed_in_person(api, world, persona):
    people, _, _ = world
    client = api(people[persona])
    root = client.get("/api/v1/")
    assert root.status_code == 200 and "keys" in root.json()
    assert client.get("/api/v1/schema/").status_code == 200
