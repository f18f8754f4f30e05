"""Purpose registrations of one key at the same moment, on the page and the API: the first
to commit wins; each other person gets a clear 409 (the page keeps what they typed), never a
500, and the key keeps exactly one current registration.

Real concurrency: threads with their own database connections, outside the test
transaction, on Postgres. The winner's transaction is held open a moment (its audit write
sleeps first) so every request reads the key before any commits; the database's row locks
and constraint decide the rest.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

import governance.services.keys as key_services
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AuditEvent, Registration
from governance.services.keys import RegistrationInput, purpose_register
from tests.factories import NOW, AccessKeyFactory, IamUserFactory, personas

pytestmark = pytest.mark.django_db(transaction=True)

RACERS = ("owner", "owner", "security", "security")
FIELDS = {"category": "ci_cd", "runs_where": "GitHub Actions", "why_not_iam_role": "outside AWS",
          "why_not_identity_center": "not a person", "why_not_sts": "no OIDC in this runner",
          "source_restriction": "203.0.113.0/24", "rotation_procedure": "every 60 days",
          "deactivation_contact": "ci on-call"}


def registration(n: int) -> dict:
    return {**FIELDS, "justification": f"deploys the site (racer {n})"}


@pytest.fixture
def world(monkeypatch):
    assert connection.vendor == "postgresql"
    people = personas()
    key = AccessKeyFactory(user=IamUserFactory(tags={"owner": "owner@example.com"}),
                           created_at=NOW - timedelta(days=20))
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    key.refresh_from_db()
    real_audit = key_services.audit

    def slow_audit(**kwargs):  # holds the winner's transaction open while the others arrive
        time.sleep(0.5)
        return real_audit(**kwargs)

    monkeypatch.setattr(key_services, "audit", slow_audit)
    return people, key


def race(attempts) -> list:
    """Run every attempt at once, each in its own thread and database connection."""
    barrier = threading.Barrier(len(attempts))
    results = [None] * len(attempts)

    def run(index, attempt):
        try:
            barrier.wait()
            results[index] = attempt()
        except Exception as exc:  # reported in the results, asserted by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, attempt))
               for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _registered_before(people, key) -> None:
    purpose_register(actor=people["owner"], key=key,
                     data=RegistrationInput(**registration(99)))


def _one_winner_kept(key, before: int) -> Registration:
    current = Registration.objects.get(key=key, superseded_at__isnull=True)
    assert Registration.objects.filter(key=key).count() == before + 1
    assert AuditEvent.objects.filter(action="key.register_purpose").count() == before + 1
    return current


@pytest.mark.parametrize("already_registered", [False, True], ids=["first", "re-register"])
def test_racing_registrations_on_the_page_one_wins_the_others_keep_their_text(
        world, already_registered):
    people, key = world
    if already_registered:
        _registered_before(people, key)
    url = reverse("key-register", args=[key.pk])
    clients = []
    for persona in RACERS:
        client = Client(raise_request_exception=False)
        client.force_login(people[persona])
        clients.append(client)
    responses = race([lambda c=c, n=n: c.post(url, registration(n))
                      for n, c in enumerate(clients)])

    statuses = sorted(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert statuses == [302, 409, 409, 409]
    current = _one_winner_kept(key, int(already_registered))
    for n, response in enumerate(responses):
        if response.status_code == 302:
            assert current.justification == registration(n)["justification"]
            continue
        # The page's HTML, not response.context: the test client collects rendered
        # templates through a global signal, which threads share.
        page = response.content.decode()
        assert "Someone else registered this key" in page  # in the form's error box
        assert f"{registration(n)['justification']}</textarea>" in page  # nothing lost
        assert f"Current registration of {current.registered_at:%Y-%m-%d} by " \
               f"{current.owner.email}" in page  # and what stands now


@pytest.mark.parametrize("already_registered", [False, True], ids=["first", "re-register"])
def test_racing_registrations_on_the_api_one_201_the_others_409(world, already_registered):
    people, key = world
    if already_registered:
        _registered_before(people, key)
    url = f"/api/v1/keys/{key.pk}/registration/"
    clients = []
    for persona in RACERS:
        client = APIClient(raise_request_exception=False)
        client.force_login(people[persona])
        clients.append(client)
    responses = race([lambda c=c, n=n: c.post(url, registration(n), format="json")
                      for n, c in enumerate(clients)])

    statuses = sorted(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert statuses == [201, 409, 409, 409]
    current = _one_winner_kept(key, int(already_registered))
    for n, response in enumerate(responses):
        body = response.json()
        if response.status_code == 201:
            assert body["justification"] == current.justification == \
                registration(n)["justification"]
        else:
            assert response["Content-Type"] == "application/json"
            assert "someone else registered this key" in body["detail"]
