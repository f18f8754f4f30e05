# ruff: noqa: F811  (the provider fixtures are imported, then named as arguments)
"""Chromium signs in through a real OpenID provider (node's oidc-provider, tests/sso).

What a person would notice: the first sign-in creates (or links) them with the role their
groups give; a changed group changes the role at the next sign-in; a forged state or an ID
token addressed to another application signs no one in and says why; signing out ends the
provider's session too.
"""

import re

import pytest
from django.contrib.auth.models import Group

from accounts.models import Person
from governance.models import AuditEvent
from tests.e2e.conftest import VIEWPORT
from tests.sso.oidc_provider import oidc_provider, oidc_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    # The provider's own pages load web fonts, which the closed network cannot serve.
    context.route(re.compile(r"https://fonts\.(googleapis|gstatic)\.com/.*"),
                  lambda route: route.fulfill(status=200, body=""))
    page = context.new_page()
    yield page
    context.close()


def sign_in_at_provider(page, base_url: str, login: str) -> None:
    """Start at Keyledger's sign-in page and get through the provider's login and consent."""
    page.goto(f"{base_url}/login/")
    page.click("[data-testid=oidc-sign-in]")
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.locator("button[autofocus], button[type=submit]").count() and \
            "/interaction/" in page.url:
        page.click("button[type=submit]")  # the consent page
    page.wait_for_url(re.compile(re.escape(base_url) + r"/(\?.*)?$|/oidc/callback/"))


def roles_of(email: str) -> set[str]:
    return set(Person.objects.get(email=email).groups.values_list("name", flat=True))


def test_first_sign_in_creates_the_person_with_the_role_of_their_group(
        page, live_server, oidc_settings, oidc_provider):
    oidc_provider.set_account("dana", email="Dana@Example.com", groups=["kl-security"])

    sign_in_at_provider(page, live_server.url, "dana")

    assert page.url == f"{live_server.url}/"
    assert roles_of("dana@example.com") == {"security"}
    assert AuditEvent.objects.filter(action="auth.sign_in",
                                     summary__contains="dana@example.com").exists()
    assert AuditEvent.objects.filter(action="person.create",
                                     summary__contains="dana@example.com").exists()


def test_sign_in_links_an_existing_person_and_a_changed_group_changes_the_role(
        page, live_server, oidc_settings, oidc_provider):
    person = Person.objects.create_user("lee@example.com", name="Lee")
    person.groups.add(Group.objects.get_or_create(name="security")[0])
    oidc_provider.set_account("lee", email="LEE@example.com", groups=["kl-managers"])

    sign_in_at_provider(page, live_server.url, "lee")
    assert page.url == f"{live_server.url}/"
    assert Person.objects.filter(email__iexact="lee@example.com").count() == 1
    assert roles_of("lee@example.com") == {"manager"}

    page.click("text=Sign out")  # RP-initiated logout: the provider's session ends too
    page.wait_for_url(re.compile(r"/login/$|/session/end"))
    if "/session/end" in page.url:
        page.click("button[autofocus], button[type=submit]")
        page.wait_for_url(re.compile(r"/login/$"))

    oidc_provider.set_account("lee", email="lee@example.com", groups=["kl-security"])
    sign_in_at_provider(page, live_server.url, "lee")
    assert roles_of("lee@example.com") == {"security"}
    change = (AuditEvent.objects.filter(action="person.update", summary__contains="lee@")
              .order_by("id").last())
    assert change.before == {"groups": ["manager"]} and change.after == {"groups": ["security"]}


def test_a_forged_state_signs_no_one_in(page, live_server, oidc_settings, oidc_provider):
    oidc_provider.set_account("mo", email="mo@example.com", groups=[])
    page.goto(f"{live_server.url}/login/")
    page.click("[data-testid=oidc-sign-in]")  # a genuine sign-in is under way in this browser
    page.wait_for_selector("input[name=login]")

    page.goto(f"{live_server.url}/oidc/callback/?code=stolen-code&state=forged-state")

    problem = page.locator("[data-testid=sign-in-problem]")
    assert problem.get_attribute("data-reason") == "state_mismatch"
    assert "Traceback" not in page.content()
    assert not Person.objects.filter(email="mo@example.com").exists()
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url


def test_an_id_token_for_another_application_is_refused(
        page, live_server, oidc_settings, oidc_provider):
    oidc_provider.set_account("eve", email="eve@example.com", groups=["kl-security"],
                              forge_audience=True)

    sign_in_at_provider(page, live_server.url, "eve")

    problem = page.locator("[data-testid=sign-in-problem]")
    assert problem.get_attribute("data-reason") == "invalid_token"
    # Authlib refuses a token whose audience is not Keyledger's client id: addressed to one
    # other party and naming no authorized party (azp), it fails there first.
    assert re.search(r"aud|azp", problem.inner_text())
    assert not Person.objects.filter(email="eve@example.com").exists()
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url  # still signed out


@pytest.mark.parametrize(("claims", "create", "reason"), [
    ({"email": "unverified@example.com", "email_verified": False}, True, "unverified_email"),
    ({"email": "stranger@example.com"}, False, "unknown_person"),
])
def test_a_person_keyledger_cannot_accept_is_told_why(
        page, live_server, oidc_settings, oidc_provider, claims, create, reason):
    oidc_settings.KEYLEDGER_OIDC_CREATE_PEOPLE = create
    oidc_provider.set_account("who", groups=["kl-security"], **claims)

    sign_in_at_provider(page, live_server.url, "who")

    problem = page.locator("[data-testid=sign-in-problem]")
    assert problem.get_attribute("data-reason") == reason
    assert "Who to ask" in problem.inner_text() and "Traceback" not in page.content()
    assert not Person.objects.filter(email=claims["email"]).exists()
