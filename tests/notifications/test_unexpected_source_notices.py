"""A key used from an undeclared source reaches its owner and the security team at once, and
only once while the finding stays open."""

import pytest
from django.core import mail

from evidence.reading import reevaluate_evidence_keys
from governance.models import Finding
from governance.signals import findings_opened
from notifications.models import Kind, Notification
from notifications.services import notifications_send
from tests.evidence.usage_helpers import day_ago, declare, seen_from

from .helpers import assert_link_works, evaluate, mails_to, owned_key

pytestmark = pytest.mark.django_db
TITLE = "used from an undeclared address"


@pytest.fixture
def key(people):
    key = owned_key(people["owner"])
    declare(key, "203.0.113.0/24")
    return key


def test_a_trail_read_that_opens_the_finding_tells_owner_and_security_at_once(
        client, people, key, django_capture_on_commit_callbacks):
    seen_from(key, day_ago(0), "198.51.100.7", events=3)

    with django_capture_on_commit_callbacks(execute=True):
        reevaluate_evidence_keys({key.access_key_id})

    [owner_mail] = mails_to("owner@example.com", TITLE)
    [security_mail] = mails_to("sec@example.com", TITLE)
    assert owner_mail.subject == (f"[Keyledger] Access key {key.access_key_id} {TITLE}")
    assert "198.51.100.7 first seen" in owner_mail.body
    assert "What to do: Find out who used the key" in owner_mail.body
    assert f"/keys/{key.pk}/" in security_mail.body
    assert_link_works(client, people["owner"], owner_mail)
    assert_link_works(client, people["security"], security_mail)
    # Nobody else: not the manager, not another owner.
    assert sorted(m.to[0] for m in mail.outbox) == ["owner@example.com", "sec@example.com"]


def test_told_once_while_the_finding_stays_open(people, key, django_capture_on_commit_callbacks):
    seen_from(key, day_ago(1), "198.51.100.7")
    with django_capture_on_commit_callbacks(execute=True):
        reevaluate_evidence_keys({key.access_key_id})
    seen_from(key, day_ago(0), "198.51.100.8")  # more evidence: the reason grows
    with django_capture_on_commit_callbacks(execute=True):
        reevaluate_evidence_keys({key.access_key_id})

    notifications_send(groups=("owners",))
    notifications_send(groups=("urgent",))

    assert len(mails_to("owner@example.com", TITLE)) == 1
    assert len(mails_to("sec@example.com", TITLE)) == 1
    assert Notification.objects.filter(kind=Kind.UNEXPECTED_SOURCE).count() == 2


def test_a_finding_that_closes_and_opens_again_is_told_again(people, key):
    seen_from(key, day_ago(0), "198.51.100.7")
    evaluate(key)
    notifications_send(groups=("urgent",))
    key.registrations.update(declared_sources=["203.0.113.0/24", "198.51.100.0/24"])
    evaluate(key)
    assert not Finding.objects.filter(code="UNEXPECTED_SOURCE", resolved_at__isnull=True)
    key.registrations.update(declared_sources=["203.0.113.0/24"])
    evaluate(key)

    notifications_send(groups=("urgent",))

    assert len(mails_to("owner@example.com", TITLE)) == 2


def test_an_owner_who_is_also_security_is_told_once(people):
    key = owned_key(people["security"])
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(0), "198.51.100.7")
    evaluate(key)

    notifications_send(groups=("urgent",))

    assert len(mails_to("sec@example.com", TITLE)) == 1


def test_a_key_without_an_active_owner_still_reaches_security(people):
    key = owned_key(people["leaver"])
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(0), "198.51.100.7")
    evaluate(key)

    notifications_send(groups=("urgent",))

    assert [m.to for m in mail.outbox] == [["sec@example.com"]]


@pytest.mark.parametrize(("codes", "sent"), [({"NO_SOURCE_RESTRICTION"}, 0),
                                              ({"UNEXPECTED_SOURCE"}, 2)])
def test_opening_unexpected_source_sends_at_once(people, key, codes, sent):
    seen_from(key, day_ago(0), "198.51.100.7")
    evaluate(key)

    findings_opened.send(sender=None, account=None, codes=frozenset(codes))

    assert len(mail.outbox) == sent
