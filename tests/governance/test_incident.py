"""Stopping a key: lookup by id, and deactivation through the responder role, on moto."""

import pytest
from django.urls import reverse

from governance.models import AccessKey, AccessKeyEvent, AuditEvent, SyncRun
from governance.sync import sync_account
from tests.conftest import account_clients
from tests.factories import personas

pytestmark = pytest.mark.django_db
ACCOUNT = "222222222222"


@pytest.fixture
def synced(aws, register_account):
    iam = account_clients(ACCOUNT).client("iam")
    iam.create_user(UserName="ci-deploy")
    key_id = iam.create_access_key(UserName="ci-deploy")["AccessKey"]["AccessKeyId"]
    account = register_account(ACCOUNT, "prod")
    assert sync_account(account=account).run.status == SyncRun.Status.SUCCEEDED
    return personas(), AccessKey.objects.get(access_key_id=key_id), iam


def aws_status(iam, key_id):
    keys = iam.list_access_keys(UserName="ci-deploy")["AccessKeyMetadata"]
    return next(k["Status"] for k in keys if k["AccessKeyId"] == key_id)


def test_security_deactivates_a_key_in_aws_and_the_next_sync_agrees(client, synced, settings):
    settings.KEYLEDGER_RESPONDER_ROLE_NAME = "KeyledgerResponder"
    people, key, iam = synced
    client.force_login(people["security"])

    response = client.post(reverse("key-deactivate", args=[key.pk]),
                           {"reason": "found in a public repo", "confirm": "on"}, follow=True)

    assert "is now Inactive in AWS" in response.content.decode()
    assert aws_status(iam, key.access_key_id) == "Inactive"
    key.refresh_from_db()
    assert key.status == AccessKey.Status.INACTIVE
    event = AuditEvent.objects.get(action="key.deactivate")
    assert event.actor == people["security"] and event.after["reason"] == "found in a public repo"
    run = sync_account(account=key.account).run
    key.refresh_from_db()
    assert run.keys_updated == 0 and key.status == AccessKey.Status.INACTIVE
    assert key.events.filter(kind=AccessKeyEvent.Kind.DEACTIVATED).count() == 1


def test_without_a_responder_role_the_page_explains_and_nothing_changes(client, synced, settings):
    settings.KEYLEDGER_RESPONDER_ROLE_NAME = ""
    people, key, iam = synced
    client.force_login(people["security"])
    page = client.get(reverse("key-detail", args=[key.pk])).content.decode()
    assert "KEYLEDGER_RESPONDER_ROLE_NAME" in page

    response = client.post(reverse("key-deactivate", args=[key.pk]), {"reason": "x"}, follow=True)

    assert "deactivation is not set up" in response.content.decode()
    assert aws_status(iam, key.access_key_id) == "Active"


def test_only_the_security_team_with_a_reason_may_deactivate(client, synced, settings):
    settings.KEYLEDGER_RESPONDER_ROLE_NAME = "KeyledgerResponder"
    people, key, iam = synced
    client.force_login(people["security"])
    refused = client.post(reverse("key-deactivate", args=[key.pk]), {"reason": " "}, follow=True)
    assert "a reason is required" in refused.content.decode()
    client.force_login(people["manager"])
    assert client.post(reverse("key-deactivate", args=[key.pk]),
                       {"reason": "x"}).status_code == 404
    assert aws_status(iam, key.access_key_id) == "Active"


def test_lookup_of_an_unknown_key_names_its_account(client, synced):
    people, _key, _iam = synced
    other = account_clients("333333333333").client("iam")
    other.create_user(UserName="stray")
    stray = other.create_access_key(UserName="stray")["AccessKey"]["AccessKeyId"]
    client.force_login(people["security"])

    response = client.get(reverse("key-lookup"), {"key_id": stray}, follow=True)

    assert "333333333333" in response.content.decode()
    assert "does not read" in response.content.decode()
