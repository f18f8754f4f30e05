"""The Outbox, the digest preference, the command, and the beat schedule that runs it all."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from config.celery import app, beat_schedule
from notifications.models import Kind, Notification, NotificationPreference
from notifications.tasks import send_notifications
from tests.factories import NOW

from .helpers import evaluate, owned_key

pytestmark = pytest.mark.django_db


def sent(person, n: int, kind=Kind.ROTATION_OVERDUE):
    now = timezone.now()
    Notification.objects.bulk_create([Notification(
        recipient=person, address=person.email, kind=kind, subject=f"key:{i}",
        period="2025-W01", title=f"message {i}", body="<b>body</b>", url=f"/keys/{i}/",
        created_at=now, sent_at=now - timedelta(minutes=i)) for i in range(n)])


def test_outbox_pages_through_sent_messages_newest_first(client, people):
    sent(people["owner"], 60)
    client.force_login(people["security"])

    first = client.get(reverse("notifications-outbox"))
    second = client.get(reverse("notifications-outbox"), {"page": 2})

    assert first.status_code == 200 and second.status_code == 200
    assert first.content.index(b"message 0<") < first.content.index(b"message 1<")
    assert b"message 49<" in first.content and b"message 50<" not in first.content
    assert b"message 59<" in second.content and b"Page 2 of 2" in second.content
    assert b"<b>body</b>" not in first.content  # bodies are shown escaped


def test_outbox_filters_by_kind_and_hides_unsent_claims(client, people):
    sent(people["owner"], 2)
    sent(people["manager"], 1, kind=Kind.MANAGER_DIGEST)
    Notification.objects.filter(title="message 1").update(sent_at=None)  # a claim in flight
    client.force_login(people["security"])

    everything = client.get(reverse("notifications-outbox")).content
    digests = client.get(reverse("notifications-outbox"), {"kind": "manager_digest"}).content

    assert b"message 0<" in everything and b"message 1<" not in everything
    assert digests.count(b"data-notification=") == 1 and b"boss@example.com" in digests


def test_outbox_is_for_the_security_team_only(client, people):
    for persona in ("manager", "owner"):
        client.force_login(people[persona])
        assert client.get(reverse("notifications-outbox")).status_code == 403


def test_anyone_can_turn_their_digests_off_and_on(client, people):
    client.force_login(people["manager"])
    page = client.get(reverse("notification-preferences"))
    assert b'name="digests"' in page.content and b"checked" in page.content

    client.post(reverse("notification-preferences"), {})
    assert NotificationPreference.objects.get(person=people["manager"]).digests is False
    client.post(reverse("notification-preferences"), {"digests": "on"})
    assert NotificationPreference.objects.get(person=people["manager"]).digests is True


def test_send_reminders_command_sends_once_and_says_what_it_did(people):
    evaluate(owned_key(people["owner"], created_at=NOW - timedelta(days=200)))

    first, again = io.StringIO(), io.StringIO()
    call_command("send_reminders", stdout=first)
    call_command("send_reminders", "--only", "owners", stdout=again)

    assert "(rotation_overdue 1, security_summary 1)" in first.getvalue()
    assert "0 sent" in again.getvalue()


def test_beat_runs_each_group_on_a_registered_task():
    schedule = beat_schedule(60)
    groups = {entry["args"][0]: entry for entry in schedule.values()
              if entry["task"] == "notifications.tasks.send_notifications"}
    assert set(groups) == {"owners", "managers", "security"}
    assert "notifications.tasks.send_notifications" in app.tasks
    assert groups["security"]["schedule"].day_of_week == {1}  # Mondays


def test_the_task_sends_its_group(people):
    evaluate(owned_key(people["owner"], created_at=NOW - timedelta(days=200)))
    assert send_notifications.delay("owners").get() == 1
    with pytest.raises(ValueError, match="unknown notification group"):
        send_notifications("everyone")
