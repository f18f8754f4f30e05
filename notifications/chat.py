"""The one outbound HTTP call: a Slack-compatible incoming webhook (``{"text": ...}``).

Mattermost, Rocket.Chat, Teams' Slack-compatible connectors and Slack itself accept this
body. The URL is a secret (whoever has it can post), so it is never logged.
"""

import json
import urllib.request

TIMEOUT_SECONDS = 5


class ChatError(Exception):
    """The webhook refused the post or could not be reached."""


def chat_post(*, url: str, text: str) -> None:
    """POST ``text`` to the webhook; raises ChatError unless it answers 2xx."""
    request = urllib.request.Request(  # noqa: S310 (the URL is validated as http(s) in settings)
        url, data=json.dumps({"text": text}).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
        raise ChatError(f"chat webhook failed: {type(exc).__name__}: {getattr(exc, 'code', '')}"
                        ) from None
    if not 200 <= status < 300:
        raise ChatError(f"chat webhook answered {status}")
