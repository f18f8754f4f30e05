"""Fixtures for notification tests: today and a live chat webhook (people: tests/conftest.py)."""

import pytest
from django.utils import timezone

from .helpers import ChatReceiver


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def chat(settings):
    receiver = ChatReceiver()
    settings.KEYLEDGER_CHAT_WEBHOOK_URL = receiver.url
    yield receiver
    receiver.stop()
