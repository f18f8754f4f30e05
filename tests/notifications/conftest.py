"""Fixtures for notification tests: the personas, today, and a live chat webhook."""

import pytest
from django.utils import timezone

from tests.factories import personas

from .helpers import ChatReceiver


@pytest.fixture
def people(db):
    return personas()


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def chat(settings):
    receiver = ChatReceiver()
    settings.KEYLEDGER_CHAT_WEBHOOK_URL = receiver.url
    yield receiver
    receiver.stop()
