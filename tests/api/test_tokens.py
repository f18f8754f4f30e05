"""Personal API tokens: created on the person's page, shown once, stored as a hash, used
as ``Authorization: Bearer``, refused (401) once expired or revoked or when the person left."""

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import api_token_create
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"kl_[A-Za-z0-9_-]{43}")


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def create_on_page(client, name="nightly report", days=30):
    return client.post(reverse("api-tokens"), {"name": name, "days": days})


def test_a_created_token_is_shown_once_and_works_as_bearer(client, world):
    people, keys, _ = world
    client.force_login(people["owner"])
    page = create_on_page(client)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    secret = SECRET.search(page.content.decode()).group()

    again = client.get(reverse("api-tokens")).content.decode()
    assert secret not in again and "nightly report" in again and secret[:11] in again

    response = bearer(secret).get("/api/v1/keys/")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [keys["owner"].pk]


def test_only_a_hash_of_the_secret_is_stored_or_audited(client, world):
    people, _, _ = world
    client.force_login(people["owner"])
    secret = SECRET.search(create_on_page(client).content.decode()).group()

    token = ApiToken.objects.get()
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(secret in str(value) for value in row.values())
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:11] and token.person == people["owner"]
    assert token.expires_at - token.created_at == timedelta(days=30)

    event = AuditEvent.objects.get(action="api_token.create")
    assert event.actor == people["owner"] and event.object_id == str(token.pk)
    recorded = " ".join(str(v) for v in AuditEvent.objects.values().get(pk=event.pk).values())
    assert secret not in recorded and token.digest not in recorded


def test_use_is_recorded_at_most_once_a_minute(world):
    people, _, _ = world
    token, secret = api_token_create(actor=people["owner"], name="ci", days=5)
    assert token.last_used_at is None
    bearer(secret).get("/api/v1/keys/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=30)
    bearer(secret).get("/api/v1/findings/")
    token.refresh_from_db()
    assert token.last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    bearer(secret).get("/api/v1/keys/")
    token.refresh_from_db()
    assert token.last_used_at > first


@pytest.mark.parametrize("spoil", ["expired", "revoked", "person_left"])
def test_expired_revoked_and_leavers_tokens_are_refused(world, spoil):
    people, _, _ = world
    token, secret = api_token_create(actor=people["owner"], name="ci", days=5)
    assert bearer(secret).get("/api/v1/keys/").status_code == 200
    if spoil == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif spoil == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    else:
        people["owner"].is_active = False
        people["owner"].save(update_fields=["is_active"])
    response = bearer(secret).get("/api/v1/keys/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Bearer a b", "Bearer kl_short", "Bearer not-a-token",
    "Bearer kl_" + "A" * 43, "bearer kl_" + "é" * 43, "Bearer kl_" + "A" * 44,
])
def test_a_malformed_or_unknown_bearer_token_is_401_not_500(world, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/keys/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_another_scheme_is_not_ours_and_leaves_the_caller_anonymous(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic b3duZXI6cHc=")
    assert client.get("/api/v1/keys/").status_code == 401


def test_a_bearer_token_needs_no_csrf_token_to_write(world):
    people, keys, _ = world
    _, secret = api_token_create(actor=people["owner"], name="ci", days=5)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post("/api/v1/exceptions/", {
        "key": keys["owner"].pk, "code": "ROTATION_OVERDUE", "justification": "freeze",
        "expires_on": (timezone.localdate() + timedelta(days=7)).isoformat()}, format="json")
    assert response.status_code == 201, response.json()


def test_the_secret_is_never_logged(world, caplog):
    people, _, _ = world
    caplog.set_level(logging.DEBUG)
    token, secret = api_token_create(actor=people["owner"], name="ci", days=5)
    bearer(secret).get("/api/v1/keys/")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    bearer(secret).get("/api/v1/keys/")
    bearer("kl_" + "B" * 43).get("/api/v1/keys/")
    assert "refused: revoked" in caplog.text
    assert secret not in caplog.text and secret[11:] not in caplog.text


def test_revoking_on_the_page_stops_the_token_and_is_audited(client, world):
    people, _, _ = world
    token, secret = api_token_create(actor=people["owner"], name="ci", days=5)
    client.force_login(people["owner"])
    response = client.post(reverse("api-token-revoke", args=[token.pk]))
    assert response.status_code == 302 and response.url == reverse("api-tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer(secret).get("/api/v1/keys/").status_code == 401
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.actor == people["owner"] and event.object_id == str(token.pk)
    assert "Revoked" in client.get(reverse("api-tokens")).content.decode()


def test_a_person_cannot_see_or_revoke_anothers_token(client, world):
    people, _, _ = world
    token, secret = api_token_create(actor=people["owner"], name="owner's script", days=5)
    client.force_login(people["other_owner"])
    assert "owner&#x27;s script" not in client.get(reverse("api-tokens")).content.decode()
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404
    assert client.get(reverse("api-token-revoke", args=[token.pk])).status_code == 405
    assert bearer(secret).get("/api/v1/keys/").status_code == 200


@pytest.mark.parametrize("name, days, problem", [
    ("", 30, "This field is required"),
    ("too long", 91, "less than or equal to 90"),
    ("zero", 0, "greater than or equal to 1"),
])
def test_a_token_needs_a_name_and_a_life_within_the_maximum(client, world, name, days, problem):
    people, _, _ = world
    client.force_login(people["owner"])
    response = create_on_page(client, name=name, days=days)
    assert response.status_code == 400 and problem in response.content.decode()
    assert not ApiToken.objects.exists()


@override_settings(KEYLEDGER_API_TOKEN_MAX_DAYS=7)
def test_the_longest_life_follows_the_setting(client, world):
    people, _, _ = world
    client.force_login(people["owner"])
    page = client.get(reverse("api-tokens")).content.decode()
    assert 'max="7"' in page and 'value="7"' in page
    assert create_on_page(client, days=8).status_code == 400
    assert create_on_page(client, days=7).status_code == 200


def test_the_page_needs_a_signed_in_person(client, world):
    response = client.get(reverse("api-tokens"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_admin_lists_tokens_without_their_digest_and_cannot_add_them(client, world):
    people, _, _ = world
    token, _ = api_token_create(actor=people["owner"], name="ci", days=5)
    admin = people["security"]
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(admin)
    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert listing.status_code == 200 and token.prefix in listing.content.decode()
    detail = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    assert detail.status_code == 200 and token.digest not in detail.content.decode()
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    revoked = client.post(reverse("admin:accounts_apitoken_changelist"),
                          {"action": "revoke", "_selected_action": [token.pk]})
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.get(action="api_token.revoke").actor == admin
