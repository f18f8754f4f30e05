"""Sending composed messages exactly once: claim a row, send, mark it sent.

The claim is an insert guarded by the unique constraints on ``Notification``; a message
already claimed (sent earlier, or being sent by another worker right now) is skipped. A
message that fails to leave releases its claim so the next run tries again.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .chat import ChatError, chat_post
from .messages import Message, absolute_url
from .models import Channel, Notification, NotificationPreference

log = logging.getLogger("keyledger.notifications")


@dataclass
class DeliveryResult:
    sent: int = 0
    skipped: int = 0  # already sent, opted out, or no chat webhook configured
    failed: int = 0
    by_kind: dict = field(default_factory=dict)


def _already_sent(messages: list[Message]) -> set[tuple]:
    """Claims of these messages that exist, in one query, so repeats cost no insert."""
    if not messages:
        return set()
    rows = Notification.objects.filter(kind__in={str(m.kind) for m in messages},
                                       period__in={m.period for m in messages})
    return set(rows.values_list("recipient_id", "kind", "subject", "period"))


def _opted_out(messages: list[Message]) -> set[int]:
    ids = {m.recipient.pk for m in messages if m.digest and m.recipient is not None}
    return set(NotificationPreference.objects.filter(person_id__in=ids, digests=False)
               .values_list("person_id", flat=True))


def render_body(message: Message) -> tuple[str, str]:
    """The plain-text and HTML bodies of an e-mail."""
    context = {"message": message, "recipient": message.recipient, "url": message.url,
               "preferences_url": absolute_url(reverse("notification-preferences"))}
    return (render_to_string("notifications/email.txt", context),
            render_to_string("notifications/email.html", context))


def chat_text(message: Message) -> str:
    """Slack-style text: bold title, the lines, then the action linked to its page."""
    lines = "\n".join(f"• {line}" for line in message.lines)
    return f"*{message.title}*\n{lines}\n{message.action} <{message.url}|Open in Keyledger>"


def _claim(message: Message, channel: str, address: str, body: str) -> Notification | None:
    try:
        with transaction.atomic():
            return Notification.objects.create(
                recipient=message.recipient, address=address, channel=channel,
                kind=message.kind, subject=message.subject, period=message.period,
                title=message.title[:300], body=body, url=message.url[:1000],
                created_at=timezone.now())
    except IntegrityError:
        return None


def _send_one(message: Message, connection) -> Notification | None:
    """Claim and send one message; None when it was claimed already. Raises if sending fails."""
    if message.recipient is None:
        text = chat_text(message)
        row = _claim(message, Channel.CHAT, "chat", text)
        if row is not None:
            _sent_or_released(row, lambda: chat_post(url=settings.KEYLEDGER_CHAT_WEBHOOK_URL,
                                                     text=text))
        return row
    text, html = render_body(message)
    row = _claim(message, Channel.EMAIL, message.recipient.email, text)
    if row is not None:
        email = EmailMultiAlternatives(subject=f"[Keyledger] {message.title}", body=text,
                                       to=[message.recipient.email], connection=connection)
        email.attach_alternative(html, "text/html")
        _sent_or_released(row, email.send)
    return row


def _sent_or_released(row: Notification, send) -> None:
    try:
        send()
    except Exception:
        row.delete()
        raise
    row.sent_at = timezone.now()
    row.save(update_fields=["sent_at"])


def deliver(messages: list[Message]) -> DeliveryResult:
    """Send each message not sent before, to people still active; count what happened."""
    result = DeliveryResult()
    sent_before, opted_out = _already_sent(messages), _opted_out(messages)
    chat_on = bool(settings.KEYLEDGER_CHAT_WEBHOOK_URL)
    connection = get_connection()
    try:
        connection.open()  # one SMTP session for the whole run
    except OSError as exc:
        log.warning("mail server unreachable: %s", exc)  # each send below fails and retries later
    try:
        for message in messages:
            person = message.recipient
            if (message.claim in sent_before or (person is None and not chat_on)
                    or (person is not None and (not person.is_active or person.pk in opted_out))):
                result.skipped += 1
                continue
            try:
                row = _send_one(message, connection)
            except (ChatError, OSError) as exc:  # SMTP errors are OSErrors too
                result.failed += 1
                log.warning("notification %s %s to %s not sent: %s", message.kind,
                            message.subject, "chat" if person is None else person.email, exc)
                continue
            if row is None:
                result.skipped += 1
                continue
            result.sent += 1
            result.by_kind[str(message.kind)] = result.by_kind.get(str(message.kind), 0) + 1
    finally:
        connection.close()
    return result
