"""No cache keeps key data: every answer Django gives (pages, the CSV export, the JSON API,
redirects, refusals and error pages) carries ``Cache-Control: no-store``; static files and
``/health/`` keep their own caching rules.

Every named URL is requested here (the last test fails when a new one is not), each as the
person it is for and, where it differs, as one it refuses.
"""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, SyncRun
from governance.services.exceptions import exception_approve, exception_request
from reduction.services import plan_open
from tests.factories import NOW, AccessKeyFactory, IamUserFactory, PersonFactory, personas

pytestmark = pytest.mark.django_db

# URLs that answer before any Django middleware or keep caching rules of their own.
EXCLUDED = {"health"}


@pytest.fixture
def world():
    people = personas()
    people["admin"] = PersonFactory(email="admin@example.com", is_staff=True,
                                    is_superuser=True, roles=["security"])
    user = IamUserFactory(tags={"owner": "owner@example.com"})
    key = AccessKeyFactory(user=user, created_at=NOW - timedelta(days=200),
                           last_used_at=NOW - timedelta(days=60))
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    key.refresh_from_db()
    expires = timezone.localdate() + timedelta(days=10)
    pending = exception_request(actor=people["owner"], key=key, code="ROTATION_OVERDUE",
                                justification="freeze", expires_on=expires)
    approved = exception_request(actor=people["owner"], key=key, code="UNUSED",
                                 justification="quarterly job", expires_on=expires)
    exception_approve(actor=people["manager"], exception=approved)
    SyncRun.objects.create(account=key.account, status=SyncRun.Status.RUNNING,
                           started_at=timezone.now(), heartbeat_at=timezone.now())
    token, _secret = api_token_create(actor=people["owner"], name="ci", days=5)
    from tests.views.test_access_matrix import issuance_of

    issuance = issuance_of(key)
    plan = plan_open(actor=people["owner"], key=key, path="iam_role", target_date=expires)
    return people, {"key": key.pk, "pending": pending.pk, "approved": approved.pk,
                    "issuance": issuance.pk, "plan": plan.pk,
                    "account": key.account_id, "token": token.pk, "owner": people["owner"].pk}


def requests(ids: dict) -> dict[str, list[tuple]]:
    """url name -> the (persona, method, url, data) requests made of it."""
    key, pending, approved = ids["key"], ids["pending"], ids["approved"]
    account, token = ids["account"], ids["token"]

    def url(name, *args):
        return reverse(name, args=args)

    def both(name, *args):  # the person it is for, and one it refuses
        return [("security", "get", url(name, *args), None),
                ("other_owner", "get", url(name, *args), None)]

    return {
        "login": [(None, "get", url("login"), None),
                  (None, "post", url("login"), {"username": "x@example.com", "password": "x"})],
        "logout": [("owner", "post", url("logout"), None)],
        "overview": [("security", "get", url("overview"), None),
                     (None, "get", url("overview"), None)],
        "inventory": [("security", "get", url("inventory"), None),
                      ("owner", "get", url("inventory") + "?status=bogus", None)],
        "inventory-export": [("security", "get", url("inventory-export"), None),
                             ("owner", "get", url("inventory-export"), None)],
        "key-lookup": [("security", "get", url("key-lookup") + "?key_id=x", None)],
        "key-detail": both("key-detail", key),
        "key-deactivate": [("security", "post", url("key-deactivate", key), {"reason": ""})],
        "key-incident": both("key-incident", key),
        "key-incident-export": both("key-incident-export", key),
        "aws-accounts": both("aws-accounts"),
        "aws-account-toggle": [("owner", "post", url("aws-account-toggle", account), None)],
        "aws-account-sync": [("security", "post", url("aws-account-sync", account), None)],
        "aws-account-progress": both("aws-account-progress", account),
        "audit-log": both("audit-log"),
        "audit-log-export": both("audit-log-export"),
        "my-keys": [("owner", "get", url("my-keys"), None),
                    ("manager", "get", url("my-keys"), None)],
        "ownership-gaps": both("ownership-gaps"),
        "rotation": both("rotation"),
        "ownership-gaps-assign": [("security", "post", url("ownership-gaps-assign"),
                                   {"owner": "owner@example.com", "keys": [key]})],
        "key-nudge-owner": [("manager", "post", url("key-nudge-owner", key), None)],
        "my-team": both("my-team"),
        "team-findings": [("manager", "get", url("team-findings", ids["owner"]), None)],
        "leaver-keys": both("leaver-keys"),
        "leaver-key-reassign": [("manager", "post", url("leaver-key-reassign", key),
                                 {"owner": "owner@example.com"})],
        "key-assign-owner": [("security", "post", url("key-assign-owner", key), {})],
        "key-register": [("owner", "get", url("key-register", key), None),
                         ("owner", "post", url("key-register", key), {})],
        "exception-new": [("owner", "get", url("exception-new", key), None)],
        "exceptions": [("manager", "get", url("exceptions"), None)],
        "exception-detail": [("manager", "get", url("exception-detail", pending), None),
                             ("manager", "post", url("exception-detail", pending),
                              {"action": "reject", "note": ""})],
        "issuance-list": [("owner", "get", url("issuance-list"), None)],
        "issuance-new": [("owner", "get", url("issuance-new"), None),
                         ("owner", "post", url("issuance-new"), {"policy_text": "{bad"})],
        "issuance-detail": [("owner", "get", url("issuance-detail", ids["issuance"]), None),
                            ("manager", "get", url("issuance-detail", ids["issuance"]), None),
                            ("security", "post", url("issuance-detail", ids["issuance"]),
                             {"action": "reject", "note": ""})],
        "issuance-unrequested-keys": both("issuance-unrequested-keys"),
        "api-tokens": [("owner", "get", url("api-tokens"), None)],
        "api-token-revoke": [("owner", "post", url("api-token-revoke", token), None)],
        "notifications-outbox": both("notifications-outbox"),
        "notification-preferences": [("owner", "get", url("notification-preferences"), None)],
        "burn-down": [("owner", "get", url("burn-down"), None),
                      ("owner", "get", url("burn-down") + "?account=nope", None)],
        "burn-down-export": [("security", "get", url("burn-down-export"), None)],
        "api-burn-down": [("manager", "get", url("api-burn-down"), None)],
        "api-root": [("owner", "get", url("api-root"), None)],
        "api-schema": [("owner", "get", url("api-schema"), None)],
        "api-docs": [("owner", "get", url("api-docs"), None)],
        "api-policy-check": [("owner", "post", url("api-policy-check"), {"policies": []})],
        "api-key-list": [("owner", "get", url("api-key-list"), None),
                         (None, "get", url("api-key-list"), None)],
        "api-key-detail": [("owner", "get", url("api-key-detail", key), None),
                           ("other_owner", "get", url("api-key-detail", key), None)],
        "api-key-registration": [("owner", "post", url("api-key-registration", key), {})],
        "api-finding-list": [("owner", "get", url("api-finding-list"), None)],
        "api-exception-list": [("owner", "get", url("api-exception-list"), None)],
        "api-issuance-request-list": [("owner", "get", url("api-issuance-request-list"), None)],
        "api-exception-detail": [("owner", "get", url("api-exception-detail", pending), None)],
        "api-exception-approve": [("owner", "post", url("api-exception-approve", pending), {})],
        "api-exception-reject": [("manager", "post", url("api-exception-reject", pending),
                                  {})],
        "api-exception-withdraw": [("other_owner", "post",
                                    url("api-exception-withdraw", pending), None)],
        "api-exception-revoke": [("manager", "post", url("api-exception-revoke", approved),
                                  {})],
        "api-account-list": [("security", "get", url("api-account-list"), None)],
        "api-account-detail": [("security", "get", url("api-account-detail", account), None)],
        "api-sync-run-list": [("security", "get", url("api-sync-run-list"), None)],
        "api-plan-list": [("owner", "get", url("api-plan-list") + "?overdue=true", None),
                          ("owner", "get", url("api-plan-list") + "?bogus=1", None)],
        "plans": [("owner", "get", url("plans"), None),
                  ("owner", "get", url("plans") + "?state=bogus", None)],
        "plan-detail": both("plan-detail", ids["plan"]),
        "plan-advance": [("owner", "post", url("plan-advance", ids["plan"]),
                          {"state": "replaced"}),
                         ("manager", "post", url("plan-advance", ids["plan"]),
                          {"state": "in_progress"})],
        "plan-new": [("owner", "get", url("plan-new", key), None),
                     ("security", "post", url("plan-new", key), {"path": "keep"})],
        "admin": [("admin", "get", "/admin/", None),
                  ("admin", "get", "/admin/governance/accesskey/", None),
                  ("admin", "get", f"/admin/governance/accesskey/{key}/change/", None),
                  (None, "get", "/admin/", None)],
        "oidc-sign-in": [(None, "get", url("oidc-sign-in"), None)],
        "oidc-callback": [(None, "get", url("oidc-callback") + "?state=forged&code=x", None)],
        "oidc-signed-out": [(None, "get", url("oidc-signed-out"), None)],
        "scim-root": [(None, "get", url("scim-root"), None)],
        "scim": [(None, "get", url("scim", "Users"), None),
                 (None, "get", url("scim", "ServiceProviderConfig"), None)],
        "not-found": [("security", "get", "/no-such-page/", None),
                      ("security", "get", "/api/v1/keys/999999/", None)],
    }


def _named_urls(resolver=None, namespace="") -> set[str]:
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                names.add("admin")
            else:
                names |= _named_urls(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(entry.name)
    return names


def test_every_answer_django_gives_says_no_store(world):
    people, ids = world
    answers = {}
    for name, made in requests(ids).items():
        for persona, method, url, data in made:
            client = APIClient() if url.startswith("/api/") else Client()
            if persona is not None:
                client.force_login(people[persona])
            kwargs = {"format": "json"} if isinstance(client, APIClient) and data else {}
            response = getattr(client, method)(url, data, **kwargs) if data is not None \
                else getattr(client, method)(url)
            directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
            answers[(name, persona, method, url)] = (response.status_code, directives)
    missing = {request: answer for request, answer in answers.items()
               if not {"no-store", "private"} <= answer[1]}
    assert missing == {}
    statuses = {answer[0] for answer in answers.values()}
    assert {200, 302, 400, 401, 403, 404} <= statuses  # pages, refusals and errors alike


def test_every_named_url_is_requested_above(world):
    _people, ids = world
    assert _named_urls() - EXCLUDED - set(requests(ids)) == set()


def test_static_files_and_health_keep_their_own_caching(world):
    with override_settings(WHITENOISE_USE_FINDERS=True):
        static = Client().get("/static/keyledger/keyledger.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")
    health = Client().get("/health/")
    assert health.status_code == 200  # never_cache: a probe's answer is never reused
