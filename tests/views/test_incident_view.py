"""The incident view of one key and its JSON record: security only, what a responder needs on
one page, the record's content, and Deactivate landing back on the page."""

import json
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import KeyUsageAddress, KeyUsageDay
from governance.models import AccessKey, AuditEvent, Finding, Registration, SyncRun
from governance.sync import sync_account
from tests.conftest import account_clients
from tests.factories import AccessKeyFactory, personas

pytestmark = pytest.mark.django_db
DECLARED = "192.0.2.0/24"
STRANGER = "198.51.100.77"


def _evidence(key_id: str, today) -> None:
    """Ten days of use from the declared range; the last three also from a stranger."""
    for back in range(10):
        day = today - timedelta(days=back)
        noon = timezone.make_aware(datetime(day.year, day.month, day.day, 12))
        KeyUsageDay.objects.create(access_key_id=key_id, day=day, events=20, errors=1,
                                   actions={"s3:PutObject": 20}, regions={"eu-west-1": 20})
        KeyUsageAddress.objects.create(access_key_id=key_id, day=day, address="192.0.2.10",
                                       first_seen=noon, last_seen=noon, events=17)
        if back < 3:
            KeyUsageAddress.objects.create(access_key_id=key_id, day=day, address=STRANGER,
                                           first_seen=noon, last_seen=noon + timedelta(hours=2),
                                           events=3)


def _register(key, owner) -> Registration:
    now = timezone.now()
    return Registration.objects.create(
        key=key, owner=owner, category="ci_cd", runs_where="CI runners",
        justification="deploys", why_not_iam_role="outside AWS", why_not_identity_center="a bot",
        why_not_sts="no OIDC", source_restriction=DECLARED, declared_sources=[DECLARED],
        rotation_procedure="quarterly", deactivation_contact="platform on-call",
        registered_at=now, review_due_on=now.date() + timedelta(days=180))


@pytest.fixture
def incident():
    people = personas()
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    _register(key, people["owner"])
    Finding.objects.create(key=key, code="UNEXPECTED_SOURCE", element="source", severity="high",
                           reason=f"used from {STRANGER}", opened_at=timezone.now())
    _evidence(key.access_key_id, timezone.now().date())
    return people, key


@pytest.mark.parametrize("persona, expected", [
    ("security", 200), ("manager", 403), ("owner", 403), ("other_owner", 403)])
def test_only_the_security_team_opens_the_incident_view_and_its_record(
        client, incident, persona, expected):
    people, key = incident
    client.force_login(people[persona])
    assert client.get(reverse("key-incident", args=[key.pk])).status_code == expected
    assert client.get(reverse("key-incident-export", args=[key.pk])).status_code == expected
    assert not AuditEvent.objects.filter(action="key.export_evidence").exclude(
        actor=people["security"]).exists()


def test_signed_out_people_are_sent_to_sign_in(client, incident):
    _people, key = incident
    response = client.get(reverse("key-incident", args=[key.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_page_shows_owner_manager_sources_permissions_and_the_undeclared_address(
        client, incident):
    people, key = incident
    client.force_login(people["security"])

    page = client.get(reverse("key-incident", args=[key.pk])).content.decode()

    assert "owner@example.com" in page and "boss@example.com" in page  # owner, their manager
    assert f"<code>{DECLARED}</code>" in page
    assert 'data-testid="permissions-verdict"' in page
    assert "Key used from an undeclared source" in page
    assert "✗ not declared" in page and STRANGER in page
    rows = page.split('data-testid="usage-addresses"')[1].split("</table>")[0]
    assert rows.index(STRANGER) < rows.index("192.0.2.10")  # undeclared first
    assert "Deactivate key in AWS" in page or "KEYLEDGER_RESPONDER_ROLE_NAME" in page
    assert "{#" not in page and "#}" not in page  # no template comment leaks into the page


def test_the_json_record_holds_the_evidence_and_is_audited_as_an_export(client, incident):
    people, key = incident
    client.force_login(people["security"])

    response = client.get(reverse("key-incident-export", args=[key.pk]))

    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert key.access_key_id in response["Content-Disposition"]
    record = json.loads(response.content)
    assert record["key"]["access_key_id"] == key.access_key_id
    assert record["owner"] == {"email": "owner@example.com", "name": people["owner"].name,
                               "manager_email": "boss@example.com"}
    assert record["registration"]["declared_sources"] == [DECLARED]
    assert [f["code"] for f in record["open_findings"]].count("UNEXPECTED_SOURCE") == 1
    assert record["permissions"]["verdict"] in {"pass", "fail", "excepted"}
    assert len(record["usage"]["days"]) == 10 and record["usage"]["days"][0]["events"] == 20
    assert sum(a["events"] for a in record["usage"]["addresses"]) == 10 * 17 + 3 * 3
    assert [u["address"] for u in record["usage"]["undeclared"]] == [STRANGER]
    assert record["usage"]["undeclared"][0]["events"] == 9
    assert record["generated_at"]
    assert "secret" not in response.content.decode().lower()
    event = AuditEvent.objects.get(action="key.export_evidence")
    assert event.actor == people["security"] and event.object_id == str(key.pk)


def test_a_key_without_evidence_or_registration_says_so(client):
    people = personas()
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    client.force_login(people["security"])

    page = client.get(reverse("key-incident", args=[key.pk])).content.decode()
    record = json.loads(client.get(reverse("key-incident-export", args=[key.pk])).content)

    assert "Not registered" in page and 'data-testid="usage-empty"' in page
    assert record["registration"] is None and record["usage"]["days"] == []


def test_the_key_page_and_the_overview_offer_the_incident_view_to_security_only(
        client, incident):
    people, key = incident
    incident_url = reverse("key-incident", args=[key.pk])
    client.force_login(people["security"])
    assert incident_url in client.get(reverse("key-detail", args=[key.pk])).content.decode()
    assert incident_url in client.get(reverse("overview")).content.decode()
    client.force_login(people["owner"])
    assert incident_url not in client.get(reverse("key-detail", args=[key.pk])).content.decode()
    assert incident_url not in client.get(reverse("overview")).content.decode()


@pytest.mark.parametrize("code, offered", [
    ("KEY_EXPOSED", True), ("UNEXPECTED_SOURCE", True), ("ADMIN_PRIVILEGE", False), ("", False)])
def test_the_key_page_offers_the_incident_view_for_incident_findings_only(
        client, code, offered):
    people = personas()
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    if code:
        Finding.objects.create(key=key, code=code, element="permissions", severity="high",
                               reason="test", opened_at=timezone.now())
    client.force_login(people["security"])
    page = client.get(reverse("key-detail", args=[key.pk])).content.decode()
    assert (reverse("key-incident", args=[key.pk]) in page) is offered


def test_deactivating_from_the_incident_view_lands_back_on_it_inactive(
        client, aws, register_account, settings):
    settings.KEYLEDGER_RESPONDER_ROLE_NAME = "KeyledgerResponder"
    iam = account_clients("222222222222").client("iam")
    iam.create_user(UserName="ci-deploy")
    key_id = iam.create_access_key(UserName="ci-deploy")["AccessKey"]["AccessKeyId"]
    account = register_account("222222222222", "prod")
    assert sync_account(account=account).run.status == SyncRun.Status.SUCCEEDED
    key = AccessKey.objects.get(access_key_id=key_id)
    people = personas()
    client.force_login(people["security"])

    response = client.post(reverse("key-deactivate", args=[key.pk]),
                           {"reason": "used from a stranger's address", "confirm": "on",
                            "next": "incident"})

    assert response.url == reverse("key-incident", args=[key.pk])
    page = client.get(response.url).content.decode()
    assert "is now Inactive in AWS" in page
    assert '<strong>Inactive</strong>' in page and "nothing to deactivate" in page
    metadata = iam.list_access_keys(UserName="ci-deploy")["AccessKeyMetadata"]
    assert metadata[0]["Status"] == "Inactive"


def test_a_responder_looking_up_an_id_lands_on_the_incident_view(client, incident):
    people, key = incident
    client.force_login(people["security"])
    response = client.get(reverse("key-lookup"), {"key_id": key.access_key_id})
    assert response.url == reverse("key-incident", args=[key.pk])
    client.force_login(people["owner"])
    response = client.get(reverse("key-lookup"), {"key_id": key.access_key_id})
    assert response.url == reverse("key-detail", args=[key.pk])
