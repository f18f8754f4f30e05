"""CSRF on every form: each POST form in the templates carries the token, and each URL that
changes something refuses a signed-in person's POST without it, changing nothing."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from governance.models import AuditEvent, AwsAccount, ExceptionRequest, Registration
from tests.views.test_access_matrix import world  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    forms = [(path.relative_to(TEMPLATES), body) for path in TEMPLATES.rglob("*.html")
             for body in POST_FORM.findall(path.read_text())]
    assert len(forms) >= 10  # the check found the forms it is about
    missing = [str(path) for path, body in forms if "{% csrf_token %}" not in body]
    assert missing == []


def test_every_changing_url_refuses_a_post_without_the_token(world):  # noqa: F811
    people, key, exception = world
    account = key.account
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["security"])
    before = (AuditEvent.objects.count(), Registration.objects.count(),
              ExceptionRequest.objects.values_list("status", flat=True).get(pk=exception.pk),
              AwsAccount.objects.values_list("enabled", flat=True).get(pk=account.pk),
              ApiToken.objects.count())
    urls = [
        reverse("key-register", args=[key.pk]),
        reverse("exception-new", args=[key.pk]),
        reverse("exception-detail", args=[exception.pk]),
        reverse("key-assign-owner", args=[key.pk]),
        reverse("key-deactivate", args=[key.pk]),
        reverse("aws-accounts"),
        reverse("aws-account-toggle", args=[account.pk]),
        reverse("aws-account-sync", args=[account.pk]),
        reverse("api-tokens"),
        reverse("notification-preferences"),
        reverse("logout"),
    ]
    for url in urls:
        response = client.post(url, {"action": "revoke", "note": "no token", "name": "x"})
        assert response.status_code == 403, url
    after = (AuditEvent.objects.count(), Registration.objects.count(),
             ExceptionRequest.objects.values_list("status", flat=True).get(pk=exception.pk),
             AwsAccount.objects.values_list("enabled", flat=True).get(pk=account.pk),
             ApiToken.objects.count())
    assert after == before
    assert client.get(reverse("overview")).status_code == 200  # still signed in: logout refused
