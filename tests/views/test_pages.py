"""The security team's pages: overview, inventory, export, key detail, accounts, audit."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AuditEvent, AwsAccount
from tests.factories import NOW, AccessKeyFactory, AccountFactory, IamUserFactory

pytestmark = pytest.mark.django_db



def make_keys(n: int, owner_email: str = "owner@example.com", account=None, **fields):
    account = account or AccountFactory()
    keys = [AccessKeyFactory(user=IamUserFactory(account=account, tags={"owner": owner_email}),
                             **fields) for _ in range(n)]
    evaluate_keys(keys=AccessKey.objects.filter(pk__in=[k.pk for k in keys]))
    return keys


def test_inventory_filters_and_exports_exactly_the_filtered_rows(client, people):
    old = make_keys(2, created_at=NOW - timedelta(days=200))
    fresh = make_keys(3)
    client.force_login(people["security"])

    page = client.get(reverse("inventory"), {"finding": "ROTATION_OVERDUE"})
    export = client.get(reverse("inventory-export"), {"finding": "ROTATION_OVERDUE"})

    assert page.status_code == 200
    html = page.content.decode()
    assert all(k.access_key_id in html for k in old)
    assert not any(k.access_key_id in html for k in fresh)
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(r["access_key_id"] for r in rows) == sorted(k.access_key_id for k in old)
    assert all("ROTATION_OVERDUE" in r["findings"] for r in rows)


def test_inventory_search_sort_and_bad_input(client, people):
    keys = make_keys(3)
    client.force_login(people["security"])
    found = client.get(reverse("inventory"), {"q": keys[1].access_key_id.lower()})
    assert keys[1].access_key_id in found.content.decode()
    assert keys[0].access_key_id not in found.content.decode()
    assert client.get(reverse("inventory"), {"sort": "-age"}).status_code == 200
    assert client.get(reverse("inventory"), {"status": "bogus"}).status_code == 400
    assert client.get(reverse("inventory"), {"page": "9999"}).status_code == 200
    assert client.get(reverse("inventory"), {"page": "x"}).status_code == 200


def test_inventory_queries_do_not_grow_with_rows(client, people):
    client.force_login(people["security"])
    make_keys(3)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("inventory"))
    make_keys(40)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("inventory"))
    assert len(few.captured_queries) == len(many.captured_queries)


def test_key_lookup_opens_the_key_or_says_it_is_unknown(client, people, aws):
    key = make_keys(1)[0]
    client.force_login(people["security"])
    opened = client.get(reverse("key-lookup"), {"key_id": key.access_key_id})
    assert opened.url == reverse("key-incident", args=[key.pk])  # a responder: the incident
    unknown = client.get(reverse("key-lookup"), {"key_id": "AKIAZZZZZZZZZZZZZZZZ"}, follow=True)
    assert "AKIAZZZZZZZZZZZZZZZZ is not in the inventory" in unknown.content.decode()
    client.force_login(people["other_owner"])
    hidden = client.get(reverse("key-lookup"), {"key_id": key.access_key_id}, follow=True)
    assert f"No key {key.access_key_id} among the keys you can see" in hidden.content.decode()
    bad = client.get(reverse("key-lookup"), {"key_id": "<script>"}, follow=True)
    assert "Enter an access key id" in bad.content.decode()


def test_key_detail_shows_scorecard_reasons_and_escapes_aws_strings(client, people):
    user = IamUserFactory(tags={"team": "<script>alert(1)</script>", "owner": "nobody@x.io"})
    key = AccessKeyFactory(user=user, created_at=NOW - timedelta(days=200))
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    client.force_login(people["security"])
    html = client.get(reverse("key-detail", args=[key.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "ROTATION_OVERDUE" in html and "limit 90" in html
    assert "who is not a known person" in html


def test_overview_counts_what_the_person_can_see(client, people):
    make_keys(2, created_at=NOW - timedelta(days=200))
    make_keys(3, owner_email="other@example.com")
    client.force_login(people["owner"])
    html = client.get(reverse("overview")).content.decode()
    assert 'data-testid="tile-active">2<' in html
    client.force_login(people["security"])
    assert 'data-testid="tile-active">5<' in client.get(reverse("overview")).content.decode()


def test_security_adds_and_disables_accounts(client, people):
    client.force_login(people["security"])
    bad = client.post(reverse("aws-accounts"), {"account_id": "12", "name": "x"})
    assert bad.status_code == 400 and "12 digits" in bad.content.decode()
    client.post(reverse("aws-accounts"), {"account_id": "210987654321", "name": "prod"})
    account = AwsAccount.objects.get(account_id="210987654321")
    client.post(reverse("aws-account-toggle", args=[account.pk]))
    account.refresh_from_db()
    assert account.enabled is False
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "account.add", "account.disable"}
    client.force_login(people["owner"])
    assert client.post(reverse("aws-account-toggle", args=[account.pk])).status_code == 403


def test_audit_log_filters(client, people):
    client.force_login(people["security"])
    client.post(reverse("aws-accounts"), {"account_id": "210987654321", "name": "prod"})
    html = client.get(reverse("audit-log"), {"action": "account.add"}).content.decode()
    assert "added AWS account 210987654321" in html
    assert "No events match" in client.get(reverse("audit-log"), {"q": "zzz"}).content.decode()


def test_pages_carry_a_strict_content_security_policy(client, people):
    client.force_login(people["owner"])
    response = client.get(reverse("overview"))
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode().replace("<script src=", "")


def test_sync_now_runs_a_sync_and_the_row_shows_it(client, people, aws, register_account,
                                                   django_capture_on_commit_callbacks):
    from tests.conftest import account_clients

    iam = account_clients("222222222222").client("iam")
    iam.create_user(UserName="svc")
    iam.create_access_key(UserName="svc")
    account = register_account("222222222222", "prod")
    client.force_login(people["security"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("aws-account-sync", args=[account.pk]),
                               headers={"HX-Request": "true"})

    assert response.status_code == 200
    row = client.get(reverse("aws-account-progress", args=[account.pk])).content.decode()
    assert "succeeded" in row and "1 keys" in row
    assert AuditEvent.objects.filter(action="account.sync_requested").count() == 1
