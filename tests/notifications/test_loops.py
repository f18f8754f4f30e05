"""Loops that close at once: the decider hears of a request, the requester of its decision,
and an owner of a nudge, without waiting for a digest (and whatever their digest setting)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import GovernanceError, NotAllowed
from governance.models import AuditEvent
from governance.services.exceptions import exception_approve, exception_reject
from notifications.models import Kind, Notification
from notifications.services import notification_preference_set, owner_nudge

from .helpers import assert_link_works, evaluate, mails_to, overdue_key_exception, owned_key

pytestmark = pytest.mark.django_db


def _request(people, django_capture_on_commit_callbacks, days=20):
    with django_capture_on_commit_callbacks(execute=True):
        return overdue_key_exception(people, days, approve=False)


def test_a_request_reaches_the_requesters_manager_at_once(
        client, people, django_capture_on_commit_callbacks):
    notification_preference_set(person=people["manager"], digests=False)  # not a digest
    exception = _request(people, django_capture_on_commit_callbacks)
    [message] = mails_to("boss@example.com", "Decide")
    assert "owner@example.com" in message.subject and "ROTATION_OVERDUE" in message.subject
    assert "release freeze" in message.body
    assert (timezone.localdate() + timedelta(days=20)).isoformat() in message.body
    row = Notification.objects.get(kind=Kind.EXCEPTION_REQUESTED)
    assert row.recipient == people["manager"] and row.sent_at is not None
    assert row.subject == f"exception:{exception.pk}"
    assert mails_to("sec@example.com") == []  # the manager decides; security is not paged
    assert_link_works(client, people["manager"], message)


def test_without_a_manager_the_security_team_is_asked(people, django_capture_on_commit_callbacks):
    people["owner"].manager = None
    people["owner"].save()
    _request(people, django_capture_on_commit_callbacks)
    assert len(mails_to("sec@example.com", "Decide")) == 1
    assert mails_to("boss@example.com") == []


def test_the_requester_hears_of_an_approval_with_its_expiry(
        client, people, django_capture_on_commit_callbacks):
    exception = _request(people, django_capture_on_commit_callbacks)
    shorter = timezone.localdate() + timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=True):
        exception_approve(actor=people["manager"], exception=exception, expires_on=shorter,
                          note="fine for the freeze")
    [message] = mails_to("owner@example.com", "Approved")
    assert shorter.isoformat() in message.subject and "fine for the freeze" in message.body
    assert Notification.objects.filter(kind=Kind.EXCEPTION_DECIDED,
                                       recipient=people["owner"], period="approved").exists()
    assert_link_works(client, people["owner"], message)


def test_the_requester_hears_of_a_rejection_with_its_reason(
        people, django_capture_on_commit_callbacks):
    exception = _request(people, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        exception_reject(actor=people["security"], exception=exception,
                         note="rotate it, the freeze ends Friday")
    [message] = mails_to("owner@example.com", "Rejected")
    assert "rotate it, the freeze ends Friday" in message.body
    assert "sec@example.com rejected" in message.body


def test_a_refused_decision_sends_nothing(people, django_capture_on_commit_callbacks):
    exception = _request(people, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(GovernanceError):
        exception_reject(actor=people["manager"], exception=exception, note="  ")
    assert mail.outbox == []


def test_a_nudge_reaches_the_owner_once_a_day_and_is_audited(
        people, django_capture_on_commit_callbacks):
    key = owned_key(people["owner"])
    evaluate(key)
    with django_capture_on_commit_callbacks(execute=True):
        owner_nudge(actor=people["security"], key=key)
    [message] = mails_to("owner@example.com", "Reminder")
    assert key.access_key_id in message.subject
    event = AuditEvent.objects.get(action="key.nudge_owner")
    assert event.actor_label == "sec@example.com" and event.object_id == str(key.pk)
    with pytest.raises(GovernanceError, match="next reminder can go after"):
        owner_nudge(actor=people["manager"], key=key)
    assert len(mails_to("owner@example.com", "Reminder")) == 1
    with django_capture_on_commit_callbacks(execute=True):  # a day later it may go again
        owner_nudge(actor=people["security"], key=key,
                    now=timezone.now() + timedelta(hours=24, minutes=1))
    assert len(mails_to("owner@example.com", "Reminder")) == 2
    assert AuditEvent.objects.filter(action="key.nudge_owner").count() == 2


def test_only_overseers_nudge_and_only_keys_they_see(people):
    key = owned_key(people["owner"])
    evaluate(key)
    for persona in ("owner", "other_manager"):
        with pytest.raises(NotAllowed):
            owner_nudge(actor=people[persona], key=key)
    assert not AuditEvent.objects.filter(action="key.nudge_owner").exists()
