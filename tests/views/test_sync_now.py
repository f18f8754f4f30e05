""""Sync now" on the accounts page: confirmed there (not on the next page opened), and in the
demo's set-up (no broker) the sync runs after the response while the row follows it."""

import threading
import time

import pytest
from django.urls import reverse

import governance.tasks as tasks
from governance.models import AuditEvent, SyncRun
from tests.conftest import account_clients

HTMX = {"HX-Request": "true"}


@pytest.fixture
def prod(aws, register_account):
    iam = account_clients("222222222222").client("iam")
    iam.create_user(UserName="svc")
    iam.create_access_key(UserName="svc")
    return register_account("222222222222", "prod")


@pytest.mark.django_db
def test_sync_now_is_confirmed_on_the_accounts_page_not_on_the_next_page(client, people, prod):
    client.force_login(people["security"])

    response = client.post(reverse("aws-account-sync", args=[prod.pk]), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="sync-notice" hx-swap-oob="true"' in html and "Sync of prod" in html
    # Nothing is left over for whatever page is opened next.
    assert "Sync of prod" not in client.get(reverse("my-keys")).content.decode()
    # Without JavaScript the form posts and comes back to the accounts page, message shown.
    page = client.post(reverse("aws-account-sync", args=[prod.pk]), follow=True)
    assert page.redirect_chain[-1][0] == reverse("aws-accounts")
    assert "Sync of prod (222222222222) requested" in page.content.decode()
    assert AuditEvent.objects.filter(action="account.sync_requested").count() == 2


@pytest.mark.django_db
def test_progress_refuses_an_after_that_is_not_a_run_id(client, people, prod):
    client.force_login(people["security"])
    url = reverse("aws-account-progress", args=[prod.pk])

    assert client.get(url, {"after": "1; drop"}).status_code == 400
    assert client.get(url, {"after": "0"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_sync_now_answers_at_once_and_the_row_follows_the_run(
        client, people, prod, settings, monkeypatch):
    settings.KEYLEDGER_SYNC_IN_THREAD = True
    release = threading.Event()
    real_sync = tasks.sync_account

    def held_sync(**kwargs):  # the sync cannot finish until the test has its answer
        assert release.wait(30)
        return real_sync(**kwargs)

    monkeypatch.setattr(tasks, "sync_account", held_sync)
    client.force_login(people["security"])

    response = client.post(reverse("aws-account-sync", args=[prod.pk]), headers=HTMX)

    row = response.content.decode()
    assert response.status_code == 200 and "queued…" in row
    assert 'hx-trigger="every 1s"' in row and "?after=0" in row
    assert not SyncRun.objects.exists()  # answered before the sync started
    release.set()
    url = reverse("aws-account-progress", args=[prod.pk])
    deadline = time.monotonic() + 30
    while "succeeded" not in (row := client.get(url, {"after": 0}).content.decode()):
        assert time.monotonic() < deadline, row
        time.sleep(0.2)
    assert "1 keys" in row and "every 1s" not in row  # done: the row stops polling
    assert SyncRun.objects.get().trigger == SyncRun.Trigger.MANUAL
