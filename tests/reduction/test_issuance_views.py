"""The issuance pages: form errors named at their field, "Check" judging without filing,
the decision page, and the overview's count of keys issued without a request equal to the
list it links to."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AwsAccount, SyncRun
from reduction.models import IssuanceRequest
from tests.factories import AccessKeyFactory, AccountFactory

from .test_issuance import ADMIN, CONFINED, answers, filed

pytestmark = pytest.mark.django_db


def form_data(account_id: str, **changes) -> dict:
    data = {name: value for name, value in vars(answers(account_id)).items()}
    data.update(changes)
    return data


def field_error(page: str, field: str) -> str:
    found = re.search(rf'data-field="{field}">([^<]*)<', page)
    return found.group(1) if found else ""


def test_bad_json_and_a_bad_cidr_are_named_at_their_fields(client, people):
    account = AccountFactory()
    client.force_login(people["owner"])
    response = client.post(reverse("issuance-new"), form_data(
        account.account_id, policy_text='{"Statement": [', sources_text="10.0.0.0/8\n300.1.1.1"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "is not JSON" in field_error(page, "policy_text")
    assert "300.1.1.1" in field_error(page, "sources_text")
    assert not IssuanceRequest.objects.exists()


def test_an_unknown_account_is_named(client, people):
    client.force_login(people["owner"])
    response = client.post(reverse("issuance-new"), form_data("999999999999"))
    assert "not governed" in field_error(response.content.decode(), "account_id")


def test_check_judges_without_filing_and_shows_the_admin_verdict(client, people):
    account = AccountFactory()
    client.force_login(people["owner"])
    response = client.post(reverse("issuance-new"), {
        "action": "check", "account_id": account.account_id,
        "policy_text": json.dumps(ADMIN), "sources_text": "203.0.113.0/24"})
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="judged"' in page
    assert ">admin</span>" in page and "required" not in field_error(page, "justification")
    assert 'data-testid="evidence"' in page  # what the evidence says for this account
    assert not IssuanceRequest.objects.exists()


def test_filing_redirects_to_the_request_and_the_decider_sees_the_bad_verdict(client, people):
    account = AccountFactory()
    client.force_login(people["owner"])
    response = client.post(reverse("issuance-new"),
                           form_data(account.account_id, policy_text=json.dumps(ADMIN)))
    request = IssuanceRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("issuance-detail", args=[request.pk])
    client.force_login(people["security"])
    page = client.get(response.url).content.decode()
    assert 'data-testid="bad-verdict"' in page and 'data-testid="approve-form"' in page
    awaiting = client.get(reverse("issuance-list") + "?tab=awaiting").content.decode()
    assert f'data-issuance="{request.pk}"' in awaiting


def test_the_requester_sees_no_decision_and_a_rejection_needs_a_reason(client, people):
    request = filed(people, AccountFactory().account_id, policy=CONFINED)
    client.force_login(people["owner"])
    page = client.get(reverse("issuance-detail", args=[request.pk])).content.decode()
    assert 'data-testid="approve-form"' not in page and "your own" in page
    assert client.post(reverse("issuance-detail", args=[request.pk]),
                       {"action": "approve"}).status_code == 403
    client.force_login(people["security"])
    response = client.post(reverse("issuance-detail", args=[request.pk]),
                           {"action": "reject", "note": ""})
    assert response.status_code == 400 and "Say why." in response.content.decode()
    client.post(reverse("issuance-detail", args=[request.pk]), {"action": "approve"})
    assert IssuanceRequest.objects.get().state == "approved"


def test_the_overview_count_equals_the_list_it_links_to(client, people):
    key = AccessKeyFactory()
    earlier = AccessKeyFactory(user__account=key.account,
                               created_at=timezone.now() - timedelta(days=30))
    SyncRun.objects.create(account=key.account, status=SyncRun.Status.SUCCEEDED,
                           started_at=timezone.now() - timedelta(days=20),
                           finished_at=timezone.now() - timedelta(days=20),
                           heartbeat_at=timezone.now() - timedelta(days=20))
    AwsAccount.objects.filter(pk=key.account_id).update(  # added just before its first sync
        created_at=timezone.now() - timedelta(days=21))
    client.force_login(people["security"])
    overview = client.get(reverse("overview")).content.decode()
    count = int(re.search(r'data-testid="tile-unrequested">(\d+)<', overview).group(1))
    listed = client.get(reverse("issuance-unrequested-keys")).content.decode()
    rows = re.findall(r'<tr data-key="(\d+)"', listed)
    assert count == len(rows) == 1 and rows == [str(key.pk)] and str(earlier.pk) not in rows
    client.force_login(people["owner"])
    assert 'tile-unrequested' not in client.get(reverse("overview")).content.decode()


def test_the_api_lists_the_requests_each_person_may_see(client, people):
    request = filed(people, AccountFactory().account_id)
    url = reverse("api-issuance-request-list")
    seen = {}
    for persona in ("owner", "other_owner", "security", "manager"):
        client.force_login(people[persona])
        body = client.get(url).json()
        seen[persona] = [row["id"] for row in body["results"]]
    assert seen == {"owner": [request.pk], "other_owner": [], "security": [request.pk],
                    "manager": []}
    client.force_login(people["owner"])
    row = client.get(url + "?state=requested").json()["results"][0]
    assert row["account_id"] == request.account.account_id and row["verdict"]["admin"] is False
    assert client.get(url + "?state=bogus").status_code == 400


def test_the_request_page_shows_its_audit_trail(client, people):
    request = filed(people, AccountFactory().account_id)
    client.force_login(people["security"])
    page = client.get(reverse("issuance-detail", args=[request.pk])).content.decode()
    trail = page[page.index("<h2>Audit trail</h2>"):]
    assert (f"requested a new key for IAM user {request.user_name} in "
            f"{request.account.account_id}") in trail.split("</table>")[0]
