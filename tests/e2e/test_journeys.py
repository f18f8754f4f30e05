"""The three journeys of the dashboard in a real browser, on the demo organization.

1. The security engineer filters the inventory and exports exactly the filtered rows as CSV.
2. An owner registers a purpose and requests an exception; they cannot approve it themselves.
3. Their manager approves it and the key turns ``excepted``.
"""

import csv
import io
from datetime import timedelta
from pathlib import Path

from django.urls import reverse
from django.utils import timezone

from governance.models import AccessKey, AwsAccount, ExceptionRequest, Finding

SECURITY = "priya.raman@example.com"
OWNER = "chen.wei@example.com"  # reports to Marcus Lee
MANAGER = "marcus.lee@example.com"


def open_codes(key: AccessKey) -> set[str]:
    return set(Finding.objects.filter(key=key, resolved_at__isnull=True)
               .values_list("code", flat=True))


def key_count(page) -> int:
    return int(page.get_by_test_id("key-count").inner_text().split()[0])


def test_security_filters_the_inventory_and_exports_the_filtered_rows(demo, sign_in):
    prod = AwsAccount.objects.get(name="prod")
    expected = set(AccessKey.objects.filter(
        account=prod, removed_at__isnull=True, findings__code="ROTATION_OVERDUE",
        findings__resolved_at__isnull=True).values_list("access_key_id", flat=True))
    assert 2 <= len(expected) < AccessKey.objects.filter(removed_at__isnull=True).count()

    security = sign_in(SECURITY)
    security.goto(reverse("inventory"))
    everything = key_count(security.page)
    # htmx swaps the rows on each change and pushes the filtered URL into the address bar.
    with security.page.expect_response(lambda r: "account=" in r.url):
        security.page.select_option("select[name=account]", str(prod.pk))
    with security.page.expect_response(lambda r: "finding=ROTATION_OVERDUE" in r.url):
        security.page.select_option("select[name=finding]", "ROTATION_OVERDUE")
    security.page.wait_for_url(lambda url: "finding=ROTATION_OVERDUE" in url)
    assert key_count(security.page) == len(expected) < everything
    shown = security.page.locator("#inventory-rows tbody a.mono").all_inner_texts()
    assert {text.strip() for text in shown} == expected
    security.shoot("inventory-filtered")

    with security.page.expect_download() as download_info:
        security.page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert {row["access_key_id"] for row in rows} == expected
    assert {row["account_id"] for row in rows} == {prod.account_id}
    assert all("ROTATION_OVERDUE" in row["findings"] for row in rows)
    assert security.problems == [] and security.dialogs == []


def test_the_filters_work_without_javascript(demo, sign_in):
    prod = AwsAccount.objects.get(name="prod")
    security = sign_in(SECURITY, javascript=False)
    security.goto(reverse("inventory"))
    security.page.select_option("select[name=account]", str(prod.pk))
    security.page.click("#key-filters button[type=submit]")
    security.page.wait_for_url(lambda url: f"account={prod.pk}" in url)
    assert key_count(security.page) == AccessKey.objects.filter(
        account=prod, removed_at__isnull=True).count()


def test_owner_registers_requests_an_exception_and_the_manager_approves(demo, sign_in):
    # Prod's deployer is registered with declared sources, and CloudTrail shows it used
    # from one address outside them as well: the owner updates the registration to declare
    # it, then asks to waive the overdue rotation until the freeze ends.
    key = AccessKey.objects.get(user__name="ci-deploy-prod", status="Active")
    assert open_codes(key) == {"ROTATION_OVERDUE", "UNEXPECTED_SOURCE"}

    owner = sign_in(OWNER)
    owner.goto(reverse("my-keys"))
    owner.shoot("my-keys")
    owner.page.click(f"a[href='{reverse('key-detail', args=[key.pk])}']")
    owner.page.get_by_role("button", name="Update purpose").click()
    owner.page.wait_for_url(f"**{reverse('key-register', args=[key.pk])}")
    owner.shoot("purpose-form")
    form = owner.page.locator("form[action$='/purpose/']")
    form.locator("select[name=category]").select_option("ci_cd")
    for name, value in {
        "runs_where": "GitHub Actions runners of the acme org",
        "justification": "deploys the production stacks",
        "why_not_iam_role": "the runners are outside AWS",
        "why_not_identity_center": "no person signs in",
        "why_not_sts": "the runners cannot present a certificate for Roles Anywhere",
        "source_restriction": "GitHub runner IP ranges and the release host",
        "rotation_procedure": "monthly, scripted",
        "deactivation_contact": "platform on-call",
    }.items():
        form.locator(f"[name={name}]").fill(value)
    # Where the way-out evidence says an alternative is available, the owner confirms the
    # reason still holds (one box per contradicted answer).
    for box in form.locator("input[type=checkbox][name^=confirm_]").all():
        box.check()
    declared = form.locator("[name=declared_sources]")
    declared.fill(declared.input_value() + "\n198.18.44.7")
    form.get_by_role("button", name="Update purpose").click()
    owner.page.wait_for_url(f"**{reverse('key-detail', args=[key.pk])}")
    assert f"Purpose of {key} registered." in owner.page.inner_text("body")
    assert open_codes(key) == {"ROTATION_OVERDUE"}
    assert "198.18.44.7/32" in key.registrations.get(superseded_at__isnull=True).declared_sources

    owner.page.get_by_role("button", name="Request an exception").click()
    owner.page.check("input[name=code][value=ROTATION_OVERDUE]")
    owner.page.fill("[name=justification]", "release freeze until the 30th; rotation after")
    owner.page.fill("[name=expires_on]",
                    (timezone.localdate() + timedelta(days=20)).isoformat())
    owner.page.get_by_role("button", name="Request exception").click()
    exception = ExceptionRequest.objects.get(key=key, code="ROTATION_OVERDUE")
    owner.page.wait_for_url(f"**{reverse('exception-detail', args=[exception.pk])}")
    owner.shoot("exception-requested")

    # The owner cannot approve their own request: no button, and a forged POST is refused.
    assert owner.page.get_by_test_id("own-request").is_visible()
    assert owner.page.get_by_role("button", name="Approve").count() == 0
    status = owner.page.evaluate("""async () => {
        const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
        const body = new URLSearchParams({csrfmiddlewaretoken: token, action: "approve"});
        const response = await fetch(location.pathname, {method: "POST", body});
        return response.status;
    }""")
    assert status == 403
    # The browser logs the refused request; that one is expected.
    owner.problems = [problem for problem in owner.problems if "403" not in problem]
    exception.refresh_from_db()
    assert exception.status == "requested"

    manager = sign_in(MANAGER)
    assert manager.page.get_by_test_id("pending").inner_text() == "1"
    manager.goto(reverse("exceptions") + "?tab=awaiting")
    manager.shoot("exceptions-awaiting")
    manager.page.click(f"a[href='{reverse('exception-detail', args=[exception.pk])}']")
    approve = manager.page.locator("form:has(input[name=action][value=approve])")
    approve.locator("[name=note]").fill("fine until the freeze ends")
    approve.get_by_role("button", name="Approve").click()
    manager.page.wait_for_url(f"**{reverse('exception-detail', args=[exception.pk])}")
    assert "Exception approved." in manager.page.inner_text("body")
    exception.refresh_from_db()
    assert exception.status == "approved" and exception.decided_by.email == MANAGER

    owner.goto(reverse("key-detail", args=[key.pk]))
    assert owner.page.get_by_test_id("compliance").inner_text().lower() == "excepted"
    key.refresh_from_db()
    assert key.compliance == "excepted"
    for session in (owner, manager):
        assert session.problems == [] and session.dialogs == []
