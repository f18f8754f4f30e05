"""A key AWS found in public reaches its owner and the security team at once, once."""

from datetime import timedelta

import pytest
from django.core import mail

from governance.models import Finding
from governance.signals import findings_opened
from notifications.models import Kind, Notification
from notifications.services import notifications_send
from tests.factories import NOW

from .helpers import assert_link_works, evaluate, mails_to, owned_key

pytestmark = pytest.mark.django_db

QUARANTINED = [{"source": "user-attached", "name": "AWSCompromisedKeyQuarantineV2",
                "arn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2", "group": "",
                "digest": ""}]


def exposed_key(owner):
    """An active key of a user AWS quarantined, owned (by tag) by ``owner``; evaluated."""
    key = owned_key(owner)
    key.user.policies = QUARANTINED
    key.user.save(update_fields=["policies"])
    evaluate(key)
    return key


def test_the_owner_is_told_once_with_what_to_do_and_a_link_to_the_key(client, people):
    key = exposed_key(people["owner"])
    opened = Finding.objects.get(key=key, code="KEY_EXPOSED").opened_at

    notifications_send(groups=("owners",))
    notifications_send(groups=("owners",))

    [message] = mails_to("owner@example.com", "in public")
    assert message.subject == (f"[Keyledger] AWS found your access key {key.access_key_id} in "
                               "public: replace it now")
    assert f"(seen by Keyledger on {opened:%Y-%m-%d}): AWS quarantined the user" in message.body
    assert "What to do: Replace the key now: create a new one" in message.body
    assert f"/keys/{key.pk}/" in message.body
    assert_link_works(client, people["owner"], message)
    assert Notification.objects.filter(kind=Kind.KEY_EXPOSED).count() == 1


def test_the_security_team_gets_the_critical_alert_for_an_exposed_key(client, people):
    key = exposed_key(people["owner"])

    notifications_send(groups=("urgent",))
    notifications_send(groups=("owners",))

    [alert] = mails_to("sec@example.com", "Critical: KEY_EXPOSED")
    assert "AWS quarantined the user" in alert.body and f"/keys/{key.pk}/" in alert.body
    assert "What to do: Replace the key now" in alert.body
    assert_link_works(client, people["security"], alert)
    assert len(mails_to("owner@example.com", "in public")) == 1  # urgent, then hourly: once


def test_a_key_without_an_active_owner_still_reaches_security(people):
    key = owned_key(people["leaver"])
    key.user.policies = QUARANTINED
    key.user.save(update_fields=["policies"])
    evaluate(key)

    notifications_send(groups=("urgent",))

    assert [m.to for m in mail.outbox] == [["sec@example.com"]]


def test_the_urgent_group_leaves_ordinary_reminders_for_their_schedule(people):
    owned_key(people["owner"], created_at=NOW - timedelta(days=200))  # rotation overdue
    evaluate()

    assert notifications_send(groups=("urgent",)).sent == 0
    assert notifications_send(groups=("owners",)).by_kind == {"rotation_overdue": 1}


@pytest.mark.parametrize(("codes", "sent"), [
    ({"UNUSED", "NO_OWNER"}, 0),
    ({"UNUSED", "KEY_EXPOSED"}, 2),  # the owner's notice and the security alert
])
def test_only_critical_findings_opened_by_a_sync_send_at_once(people, codes, sent):
    key = exposed_key(people["owner"])

    findings_opened.send(sender=None, account=key.account, codes=frozenset(codes))

    assert len(mail.outbox) == sent


def test_an_exposed_key_of_a_quarantined_user_that_is_inactive_tells_nobody(people):
    key = owned_key(people["owner"], status="Inactive")
    key.user.policies = QUARANTINED
    key.user.save(update_fields=["policies"])
    evaluate(key)

    notifications_send(groups=("owners",))

    assert mail.outbox == [] and not Finding.objects.filter(code="KEY_EXPOSED").exists()
