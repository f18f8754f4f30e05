"""Owners hear about each of their keys' problems once, with a link that opens the page."""

from datetime import timedelta

import pytest
from django.core import mail

from governance.models import ExceptionRequest
from governance.services.exceptions import exceptions_expire
from governance.services.keys import RegistrationInput, owner_assign, purpose_register
from notifications.models import Kind, Notification
from notifications.services import notifications_send
from tests.factories import NOW

from .helpers import assert_link_works, evaluate, mails_to, overdue_key_exception, owned_key

pytestmark = pytest.mark.django_db

REGISTRATION = RegistrationInput(
    category="ci_cd", runs_where="GitHub Actions", justification="deploys",
    why_not_iam_role="outside AWS", why_not_identity_center="not a person",
    why_not_sts="no OIDC in this runner", source_restriction="203.0.113.0/24",
    rotation_procedure="rotate quarterly", deactivation_contact="oncall")


def send_owners():
    return notifications_send(groups=("owners",))


def test_rotation_and_unused_reminders_go_to_the_owner_once(client, people):
    owner = people["owner"]
    due = owned_key(owner, created_at=NOW - timedelta(days=80))
    overdue = owned_key(owner, created_at=NOW - timedelta(days=200))
    unused = owned_key(owner, created_at=NOW - timedelta(days=30),
                       last_used_at=NOW - timedelta(days=60))
    evaluate()

    first = send_owners()

    for key, title in ((due, "Rotation due soon"), (overdue, "Rotation overdue"),
                       (unused, "Unused key")):
        [message] = mails_to(owner.email, f"{title}: access key {key.access_key_id}")
        assert "What to do:" in message.body
        assert_link_works(client, owner, message)
    assert first.sent == 3 and len(mail.outbox) == 3  # nobody else hears about these keys
    assert send_owners().sent == 0
    assert len(mail.outbox) == 3 and Notification.objects.count() == 3


def test_an_excepted_finding_is_not_nagged_about(people):
    overdue_key_exception(people, 30, approve=True)

    send_owners()

    assert mails_to("owner@example.com", "Rotation overdue") == []


def test_purpose_review_due_reminds_the_owner_with_the_registration_page(client, people, today):
    owner = people["owner"]
    key = owned_key(owner)
    evaluate(key)
    registration = purpose_register(actor=owner, key=key, data=REGISTRATION)
    type(registration).objects.filter(pk=registration.pk).update(
        review_due_on=today + timedelta(days=5))

    send_owners()
    send_owners()

    [message] = mails_to(owner.email, "Purpose review is due")
    assert message.alternatives and "Do it in Keyledger" in message.alternatives[0][0]
    assert_link_works(client, owner, message)


def test_exception_expiring_then_expired_each_reach_the_owner_once(client, people, today):
    owner = people["owner"]
    exception = overdue_key_exception(people, 5, approve=True)

    send_owners()
    send_owners()

    [expiring] = mails_to(owner.email, f"ends on {today + timedelta(days=5)}")
    assert_link_works(client, owner, expiring)

    ExceptionRequest.objects.filter(pk=exception.pk).update(expires_on=today - timedelta(days=1))
    exceptions_expire()
    send_owners()
    send_owners()

    [expired] = mails_to(owner.email, "has expired")
    assert_link_works(client, owner, expired)
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {Kind.EXCEPTION_EXPIRING, Kind.EXCEPTION_EXPIRED} <= kinds


def test_a_key_assigned_by_the_security_team_is_announced_to_its_new_owner(
        client, people):
    key = owned_key(people["other_owner"])  # tagged for someone else: the assignment wins
    evaluate(key)
    owner_assign(actor=people["security"], key=key, person=people["no_manager"])

    send_owners()
    send_owners()

    [message] = mails_to("solo@example.com", f"You now own access key {key.access_key_id}")
    assert "sec@example.com assigned you" in message.body
    assert_link_works(client, people["no_manager"], message)


def test_people_who_left_get_nothing(people):
    owned_key(people["leaver"], created_at=NOW - timedelta(days=200))
    evaluate()

    send_owners()

    assert mails_to("gone@example.com") == []


def test_reminders_name_the_recipient_and_never_another_owners_key(people):
    mine = owned_key(people["owner"], created_at=NOW - timedelta(days=200))
    theirs = owned_key(people["other_owner"], created_at=NOW - timedelta(days=200))
    evaluate()

    send_owners()

    [to_me] = mails_to("owner@example.com")
    [to_them] = mails_to("other@example.com")
    assert mine.access_key_id in to_me.body and theirs.access_key_id not in to_me.body
    assert theirs.access_key_id in to_them.body
    assert to_me.body.startswith(f"Hello {people['owner'].name},")
