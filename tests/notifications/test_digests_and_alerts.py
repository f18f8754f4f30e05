"""Managers' digests, the security team's weekly summary, critical alerts and the chat post."""

from datetime import timedelta

import pytest
from django.core import mail

from governance.models import AccessKey, AwsAccount, SyncRun
from governance.trends import snapshot_take
from notifications.models import Channel, Notification
from notifications.services import notification_preference_set, notifications_send
from tests.factories import NOW, AccessKeyFactory, IamUserFactory

from .helpers import assert_link_works, evaluate, mails_to, overdue_key_exception, owned_key

pytestmark = pytest.mark.django_db


def root_key(account=None):
    """An active root-user key: a critical ROOT_KEY finding once evaluated."""
    fields = {"account": account} if account else {}
    user = IamUserFactory(name="<root_account>", **fields)
    return AccessKeyFactory(user=user, access_key_id=None, slot=1)


def test_manager_digest_lists_pending_approvals_once_and_links_to_the_queue(client, people):
    exception = overdue_key_exception(people, 30, approve=False)

    notifications_send(groups=("managers",))
    notifications_send(groups=("managers",))

    [digest] = mails_to("boss@example.com", "approval(s) waiting")
    assert f"ROTATION_OVERDUE on {exception.key}" in digest.body
    assert f"/exceptions/{exception.pk}/" in digest.body
    assert "Turn them off" in digest.body
    assert_link_works(client, people["manager"], digest)
    assert mails_to("boss2@example.com") == []  # not their report: nothing to decide


def test_manager_digest_warns_of_reports_exceptions_ending_soon(client, people, today):
    overdue_key_exception(people, 4, approve=True)

    notifications_send(groups=("managers",))

    [digest] = mails_to("boss@example.com", "1 exception(s) ending soon")
    assert f"ends {today + timedelta(days=4)}" in digest.body
    assert_link_works(client, people["manager"], digest)


def test_digests_respect_the_personal_opt_out(people):
    overdue_key_exception(people, 30, approve=False)
    notification_preference_set(person=people["manager"], digests=False)
    notification_preference_set(person=people["security"], digests=False)

    result = notifications_send(groups=("managers", "security"))

    assert mails_to("boss@example.com") == [] and mails_to("sec@example.com") == []
    assert result.sent == 0 and not Notification.objects.exists()


def test_critical_findings_reach_the_security_team_even_when_opted_out(client, people):
    key = root_key()
    evaluate(key)
    notification_preference_set(person=people["security"], digests=False)

    notifications_send(groups=("owners",))
    notifications_send(groups=("owners",))

    [alert] = mails_to("sec@example.com", "Critical: ROOT_KEY")
    assert "What to do: Delete the root user's access key." in alert.body
    assert_link_works(client, people["security"], alert)
    assert [m.to for m in mail.outbox] == [["sec@example.com"]]  # owners and managers: no


def test_weekly_summary_counts_the_week_and_links_to_the_gaps(client, people):
    root_key()
    AccessKeyFactory()  # no owner tag: NO_OWNER
    evaluate()
    snapshot_take()
    account = AwsAccount.objects.first()
    SyncRun.objects.create(account=account, status=SyncRun.Status.FAILED, started_at=NOW,
                           heartbeat_at=NOW, finished_at=NOW, failure_kind="access_denied")

    notifications_send(groups=("security",))
    notifications_send(groups=("security",))

    [summary] = mails_to("sec@example.com", "Weekly summary")
    assert "ROOT_KEY (critical) 1" in summary.body and "NO_OWNER (high)" in summary.body
    assert "New keys without an owner: 1." in summary.body
    assert f"Failed syncs: {account.name} ({account.account_id}) 1." in summary.body
    assert "Keys: compliant 0, excepted 0, non-compliant 2" in summary.body
    assert_link_works(client, people["security"], summary)
    assert len(mail.outbox) == 1


def test_chat_gets_critical_alerts_and_the_summary_once_as_slack_json(people, chat):
    key = root_key()
    evaluate(key)

    notifications_send()
    notifications_send()

    texts = [post["text"] for post in chat.posts]
    assert len(texts) == 2
    [alert] = [t for t in texts if t.startswith("*Critical: ROOT_KEY")]
    assert f"/keys/{key.pk}/|Open in Keyledger>" in alert
    assert any(t.startswith("*Weekly summary") for t in texts)
    assert Notification.objects.filter(channel=Channel.CHAT).count() == 2


def test_a_failed_chat_post_is_retried_on_the_next_run(people, chat):
    evaluate(root_key())
    chat.status = 500

    failed = notifications_send(groups=("owners",))

    assert failed.failed == 1 and chat.posts == []
    assert not Notification.objects.filter(channel=Channel.CHAT).exists()
    chat.status = 200
    assert notifications_send(groups=("owners",)).sent == 1 and len(chat.posts) == 1


def test_mail_that_cannot_be_sent_is_retried_on_the_next_run(people, settings):
    evaluate(owned_key(people["owner"], created_at=NOW - timedelta(days=200)))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2

    failed = notifications_send(groups=("owners",))

    assert failed.failed == 1 and failed.sent == 0 and not Notification.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send(groups=("owners",)).sent == 1
    assert AccessKey.objects.count() == 1
