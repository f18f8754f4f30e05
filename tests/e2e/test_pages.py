"""Every main page in a real browser: it renders under the strict Content-Security-Policy with
no script error, its screenshot is saved, and hostile AWS strings are shown, never run."""

import pytest
from django.urls import reverse

from governance.models import AccessKey, AwsAccount
from governance.sync import sync_account
from tests.conftest import account_clients

from .test_journeys import MANAGER, OWNER, SECURITY

README_SHOTS = ("overview", "inventory", "key-detail")  # `make screenshots` copies these
HOSTILE_TAGS = {
    # Each would run script if it reached the page unescaped.
    "owner": '"><img src=x onerror="alert(\'owner-tag\')">@example.com',
    "squad": "<svg/onload=alert('team-tag')>",
    "runbook": "javascript:alert('runbook-tag')",
    "cost-center": "</textarea><script>alert('cost-center')</script>",
}


def test_each_main_page_renders_with_its_scripts_and_no_errors(demo, sign_in):
    key = AccessKey.objects.filter(user__name="ci-deploy-prod", status="Active").get()
    pages = {
        "overview": reverse("overview"),
        "inventory": reverse("inventory"),
        "key-detail": reverse("key-detail", args=[key.pk]),
        "gaps": reverse("ownership-gaps"),
        "rotation": reverse("rotation"),
        "exceptions": reverse("exceptions"),
        "aws-accounts": reverse("aws-accounts"),
        "audit-log": reverse("audit-log"),
        "api-tokens": reverse("api-tokens"),
    }
    security = sign_in(SECURITY)
    for name, path in pages.items():
        security.goto(path)
        security.shoot(name)
        if name in README_SHOTS:
            security.shoot(f"readme-{name}", full_page=False)
    security.goto(reverse("overview"))
    # Chart.js drew each chart: the scripts ran under the CSP, from the vendored files.
    charts = security.page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".map(c => Boolean(window.Chart && Chart.getChart(c)))")
    assert charts and all(charts)
    assert security.problems == [] and security.dialogs == []

    owner = sign_in(OWNER)
    owner.goto(reverse("my-keys"))
    owner.shoot("my-keys-owner")
    manager = sign_in(MANAGER)
    manager.goto(reverse("my-keys"))
    manager.shoot("my-keys-manager")
    for session in (owner, manager):
        assert session.problems == [] and session.dialogs == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_hostile_aws_strings_are_shown_as_text_and_never_run(demo, sign_in, javascript):
    prod = AwsAccount.objects.get(name="prod")
    iam = account_clients(prod.account_id).client("iam")
    iam.tag_user(UserName="svc-sendgrid",
                 Tags=[{"Key": k, "Value": v} for k, v in HOSTILE_TAGS.items()])
    assert sync_account(account=prod).run.status == "succeeded"
    key = AccessKey.objects.get(user__name="svc-sendgrid", removed_at__isnull=True)

    security = sign_in(SECURITY, javascript=javascript)
    security.goto(reverse("key-detail", args=[key.pk]))
    text = security.page.inner_text("body")
    # The demo's own planted tag, and the ones added here, appear as the text they are.
    for value in [*HOSTILE_TAGS.values(), "<script>alert(1)</script>"]:
        assert value in text
    security.shoot(f"hostile-key-detail-{'js' if javascript else 'nojs'}")
    for path in (reverse("inventory") + "?q=svc-sendgrid", reverse("ownership-gaps"),
                 reverse("audit-log"), reverse("overview")):
        security.goto(path)
        if path == reverse("ownership-gaps"):
            assert "<img src=x onerror=" in security.page.inner_text("body")
        # Nothing injected became an element: no image or svg from AWS data on any page.
        assert security.page.locator("img[src=x], svg[onload]").count() == 0, path
    assert security.dialogs == []
    assert security.problems == []
