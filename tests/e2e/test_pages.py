"""Every main page in a real browser: it renders under the strict Content-Security-Policy with
no script error, axe-core finds no serious or critical accessibility violation for any
persona, its screenshot is saved, and hostile AWS strings are shown, never run."""

import pytest
from axe_playwright_python.sync_playwright import Axe
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
AXE = Axe()
PHONE = {"width": 390, "height": 844}
# The right edge of the furthest-reaching visible element of the header, in CSS pixels.
HEADER_RIGHT = ("() => Math.max(...[...document.querySelectorAll('header.topbar *')]"
                ".filter(e => e.getClientRects().length)"
                ".map(e => e.getBoundingClientRect().right))")


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one line each
    with the rule and the first offending elements (moderate and minor ones are advice)."""
    violations = AXE.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[node['target'] for node in v['nodes']][:3]}"
            for v in violations if v["impact"] in ("serious", "critical")]


def assert_accessible(session, pages: dict[str, str], persona: str) -> None:
    """Open each page, save its screenshot and collect axe's findings; fail naming them all."""
    found = {}
    for name, path in pages.items():
        session.goto(path)
        session.shoot(f"{name}-{persona}" if persona != "security" else name)
        if problems := serious_violations(session.page):
            found[name] = problems
    assert found == {}, f"axe-core, as {persona}: {found}"


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
        "api-docs": reverse("api-docs"),
    }
    security = sign_in(SECURITY)
    assert_accessible(security, pages, "security")
    for name in README_SHOTS:
        security.goto(pages[name])
        security.shoot(f"readme-{name}", full_page=False)
    security.goto(reverse("overview"))
    # Chart.js drew each chart: the scripts ran under the CSP, from the vendored files.
    charts = security.page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".map(c => Boolean(window.Chart && Chart.getChart(c)))")
    assert charts and all(charts)
    # Swagger UI drew the API reference from the vendored files and the schema, under the CSP.
    security.goto(reverse("api-docs"))
    security.page.get_by_text("/api/v1/keys/", exact=True).first.wait_for()
    security.shoot("api-docs")
    assert serious_violations(security.page) == []
    assert security.problems == [] and security.dialogs == []

    own_key = AccessKey.objects.filter(owner__email=OWNER, status="Active").first()
    assert own_key is not None
    everyone = {"overview": reverse("overview"), "inventory": reverse("inventory"),
                "my-keys": reverse("my-keys"), "exceptions": reverse("exceptions"),
                "key-detail": reverse("key-detail", args=[own_key.pk]),
                "api-tokens": reverse("api-tokens"),
                "mail-settings": reverse("notification-preferences")}
    owner = sign_in(OWNER)
    assert_accessible(owner, everyone, "owner")
    manager = sign_in(MANAGER)
    assert_accessible(manager, {**everyone, "gaps": reverse("ownership-gaps"),
                                "rotation": reverse("rotation")}, "manager")
    for session in (owner, manager):
        assert session.problems == [] and session.dialogs == []


def test_header_names_the_person_and_the_menu_fits_a_phone(demo, sign_in):
    """Who is signed in, in what role; on a 390 px screen the links sit behind "Menu" (a
    <details>, no script), rarely used pages behind "More", and nothing scrolls sideways."""
    security = sign_in(SECURITY)
    page = security.page
    security.goto(reverse("my-keys"))
    assert page.get_by_test_id("signed-in").inner_text().split() == [
        "Priya", "Raman", "security", "team"]
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Inventory").is_visible()
    assert not nav.locator(".nav-menu > summary").is_visible()
    assert not nav.get_by_role("link", name="Audit log").is_visible()
    nav.get_by_text("More", exact=True).click()
    nav.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit/")

    page.set_viewport_size(PHONE)
    security.goto(reverse("inventory"))
    security.shoot("phone-menu-closed", full_page=False)
    assert page.evaluate(HEADER_RIGHT) <= PHONE["width"]
    assert not nav.get_by_role("link", name="Inventory").is_visible()
    nav.get_by_text("Menu", exact=True).click()
    assert nav.get_by_role("link", name="Rotation").is_visible()
    nav.get_by_text("More", exact=True).click()
    security.shoot("phone-menu-open", full_page=False)
    assert page.evaluate(HEADER_RIGHT) <= PHONE["width"]
    assert serious_violations(page) == []
    nav.get_by_role("link", name="AWS accounts").click()
    page.wait_for_url("**/aws-accounts/")

    owner = sign_in(OWNER)
    owner.goto(reverse("my-keys"))
    assert owner.page.get_by_test_id("role").inner_text() == "key owner"
    owner.page.get_by_text("More", exact=True).click()
    assert owner.page.get_by_role("link", name="Audit log").count() == 0
    manager = sign_in(MANAGER)
    manager.goto(reverse("my-keys"))
    assert manager.page.get_by_test_id("role").inner_text() == "manager"
    assert security.problems == [] and owner.problems == []


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
