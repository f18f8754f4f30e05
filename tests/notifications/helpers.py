"""Helpers for notification tests: a world with something due, links, a chat receiver."""

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.core import mail
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey
from governance.services.exceptions import exception_approve, exception_request
from tests.factories import NOW, AccessKeyFactory

LINK = re.compile(r"^Do it here: (\S+)$", re.MULTILINE)


def owned_key(owner, **fields):
    """An active key whose IAM user's owner tag names ``owner``."""
    return AccessKeyFactory(owner=owner, **fields)


def overdue_key_exception(people, days: int, *, approve: bool):
    """The owner's overdue key with an exception requested until ``days`` from today (and,
    with ``approve``, approved by their manager)."""
    key = owned_key(people["owner"], created_at=NOW - timedelta(days=200))
    evaluate(key)
    exception = exception_request(actor=people["owner"], key=key, code="ROTATION_OVERDUE",
                                  justification="release freeze",
                                  expires_on=timezone.localdate() + timedelta(days=days))
    return exception_approve(actor=people["manager"], exception=exception) if approve \
        else exception


def evaluate(*keys):
    """Evaluate every key (findings, resolved owners) and refresh the ``keys`` given."""
    evaluate_keys(keys=AccessKey.objects.all())
    for key in keys:
        key.refresh_from_db()


def mails_to(email: str, kind_title: str = "") -> list:
    return [m for m in mail.outbox if m.to == [email] and kind_title in m.subject]


def link_of(message) -> str:
    """The one action link of an e-mail, as a path on this test server."""
    url = LINK.search(message.body).group(1)
    assert url.startswith(settings.KEYLEDGER_BASE_URL + "/"), url
    return url[len(settings.KEYLEDGER_BASE_URL):]


def assert_link_works(client, person, message):
    """The recipient, signed in, opens the message's link and gets the page (200)."""
    client.force_login(person)
    response = client.get(link_of(message))
    assert response.status_code == 200, (link_of(message), response.status_code)
    client.logout()


class ChatReceiver:
    """A real HTTP server in a thread that records each JSON body posted to it."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status == 200:
                    receiver.posts.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
