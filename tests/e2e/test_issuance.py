"""Issue 17's done-when, in a real browser on the demo organization: a requester files an
issuance request whose proposed policy is admin, sees the verdict, fixes it, gets approval,
and the new key arrives registered."""

import json

from django.urls import reverse

from governance.models import AccessKey, AwsAccount, Registration
from governance.sync import sync_account
from reduction.models import IssuanceRequest
from tests.conftest import account_clients

SECURITY = "priya.raman@example.com"
REQUESTER = "chen.wei@example.com"  # a demo key owner
USER = "svc-reports-upload"

ADMIN_LIKE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AdministratorAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
LEAST_PRIVILEGE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::acme-reports/*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["198.51.100.0/24"]}}}]}


def test_requester_fixes_an_admin_policy_security_approves_and_the_key_arrives_registered(
        demo, sign_in):
    prod = AwsAccount.objects.get(name="prod")
    requester = sign_in(REQUESTER)
    requester.goto(reverse("issuance-new"))
    page = requester.page
    page.fill("[name=account_id]", prod.account_id)
    page.fill("[name=user_name]", USER)
    page.select_option("[name=category]", "on_premises")
    for name, value in {
        "runs_where": "the reporting server in the Paris office",
        "justification": "uploads the nightly reports to S3",
        "why_not_iam_role": "the server is on premises, not in AWS",
        "why_not_identity_center": "no person signs in: a nightly job",
        "why_not_sts": "no certificate authority for Roles Anywhere yet",
        "sources_text": "198.51.100.0/24",
        "rotation_plan": "every 60 days by the ops runbook",
        "deactivation_contact": "ops on-call",
    }.items():
        page.fill(f"[name={name}]", value)
    page.fill("[name=policy_text]", json.dumps(ADMIN_LIKE))
    page.get_by_role("button", name="Check").click()
    assert "admin" in page.get_by_test_id("verdict-admin").inner_text()
    assert page.get_by_test_id("verdict-fine").count() == 0
    assert page.get_by_test_id("evidence").is_visible()
    requester.shoot("issuance-admin-verdict")
    assert not IssuanceRequest.objects.filter(user_name=USER).exists()  # a check files nothing

    page.fill("[name=policy_text]", json.dumps(LEAST_PRIVILEGE, indent=2))
    page.get_by_role("button", name="Check").click()
    assert page.get_by_test_id("verdict-fine").is_visible()
    assert "not admin" in page.get_by_test_id("verdict-admin").inner_text()
    assert "confined" in page.get_by_test_id("verdict-source").inner_text()
    page.get_by_role("button", name="File the request").click()
    request = IssuanceRequest.objects.get(user_name=USER)
    page.wait_for_url(f"**{reverse('issuance-detail', args=[request.pk])}")
    assert page.get_by_test_id("state").inner_text() == "Requested"
    assert request.verdict["admin"] is False and request.verdict["source_restricted"] is True
    assert page.get_by_role("button", name="Approve").count() == 0  # never the requester

    security = sign_in(SECURITY)
    security.goto(reverse("issuance-detail", args=[request.pk]))
    security.page.get_by_test_id("approve-form").get_by_role("button", name="Approve").click()
    security.page.wait_for_url(f"**{reverse('issuance-detail', args=[request.pk])}")
    assert security.page.get_by_test_id("state").inner_text() == "Approved"

    # The requester creates the user and its key in AWS; the periodic sync stores it.
    iam = account_clients(prod.account_id).client("iam")
    iam.create_user(UserName=USER)
    key_id = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    assert sync_account(account=prod).run.status == "succeeded"

    key = AccessKey.objects.get(access_key_id=key_id)
    requester.goto(reverse("key-detail", args=[key.pk]))
    body = requester.page.inner_text("body")
    assert "On-premises workload: the reporting server in the Paris office" in body
    assert f"issuance request #{request.pk}" in requester.page.get_by_test_id(
        "issued-from").inner_text()
    assert Registration.objects.get(key=key).declared_sources == ["198.51.100.0/24"]
    requester.shoot("issuance-key-registered")
    requester.page.get_by_test_id("issued-from").get_by_role("link").click()
    requester.page.wait_for_url(f"**{reverse('issuance-detail', args=[request.pk])}")
    assert requester.page.get_by_test_id("state").inner_text() == "Fulfilled (key issued)"
    assert key_id in requester.page.get_by_test_id("issued-key").inner_text()
    assert requester.problems == [] and security.problems == []
