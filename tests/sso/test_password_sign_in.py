"""Password sign-in once an OpenID provider is configured: off, but for the break-glass
accounts, whose use is audited and shown to the security team; and the provider's pages
when it cannot be reached (a page that says so, never a traceback)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import Person
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "Correct-Horse-9!"


@pytest.fixture
def oidc_on(settings):
    settings.KEYLEDGER_OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.KEYLEDGER_OIDC_CLIENT_ID = "keyledger"
    settings.KEYLEDGER_OIDC_CLIENT_SECRET = "secret"
    settings.KEYLEDGER_OIDC_TIMEOUT_SECONDS = 2
    settings.KEYLEDGER_BREAK_GLASS = ["Glass@Example.com"]
    settings.KEYLEDGER_OIDC_PROVIDER_NAME = "Okta"
    return settings


def sign_in(client, email):
    return client.post("/login/", {"username": email, "password": PASSWORD})


def test_without_a_provider_everyone_signs_in_with_a_password(client):
    Person.objects.create_user("dana@example.com", PASSWORD)

    assert sign_in(client, "dana@example.com").status_code == 302
    assert "oidc-sign-in" not in client.get("/login/").content.decode()


def test_with_a_provider_only_break_glass_accounts_use_a_password(client, oidc_on):
    Person.objects.create_user("dana@example.com", PASSWORD)
    Person.objects.create_user("glass@example.com", PASSWORD)

    page = client.get("/login/").content.decode()
    assert 'data-testid="oidc-sign-in"' in page and "Sign in with Okta" in page
    refused = sign_in(client, "dana@example.com")
    assert refused.status_code == 200 and "not a break-glass account" in refused.content.decode()
    assert sign_in(client, "glass@example.com").status_code == 302
    use = AuditEvent.objects.get(action="auth.break_glass")
    assert use.actor_label == "glass@example.com" and "with a password" in use.summary


def test_the_security_team_sees_break_glass_use_on_the_overview(client, oidc_on):
    Person.objects.create_user("glass@example.com", PASSWORD)
    sign_in(Client(), "glass@example.com")
    security = Person.objects.create_user("sec@example.com")
    security.groups.add(Group.objects.get_or_create(name="security")[0])
    owner = Person.objects.create_user("owner@example.com")

    client.force_login(security)
    shown = client.get("/").content.decode()
    client.force_login(owner)
    hidden = client.get("/").content.decode()

    assert 'data-testid="break-glass-uses"' in shown and "glass@example.com" in shown
    assert 'data-testid="break-glass-uses"' not in hidden


def test_a_provider_that_cannot_be_reached_gets_a_page_that_says_so(client, oidc_on):
    response = client.get("/oidc/login/")

    assert response.status_code == 503
    page = response.content.decode()
    assert "cannot be reached" in page and "Okta" in page and "Traceback" not in page


def test_the_callback_without_a_provider_configured_says_so(client):
    response = client.get("/oidc/callback/?code=x&state=y")
    assert response.status_code == 404 and "not set up" in response.content.decode()
