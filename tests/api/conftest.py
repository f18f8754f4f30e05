"""A small world for the API: the personas, a key for each owner, a sync run, API clients."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from governance.models import AccessKey, SyncRun
from tests.factories import NOW, AccessKeyFactory


def owned_key(owner_email: str, days_old: int = 200, **fields) -> AccessKey:
    """An evaluated key of ``owner_email``'s, 200 days old unless told (the factory's trait)."""
    return AccessKeyFactory(owner=owner_email, days_old=days_old, evaluated=True, **fields)



@pytest.fixture
def world(people):
    """owner's key (200 days: ROTATION_OVERDUE), other_owner's, and no_manager's (10 days)."""
    keys = {
        "owner": owned_key("owner@example.com"),
        "other_owner": owned_key("other@example.com"),
        "no_manager": owned_key("solo@example.com", days_old=10),
    }
    run = SyncRun.objects.create(account=keys["owner"].account, status=SyncRun.Status.SUCCEEDED,
                                 started_at=NOW - timedelta(minutes=5), finished_at=NOW,
                                 heartbeat_at=NOW, aws_calls=4)
    return people, keys, run


@pytest.fixture
def api():
    """``api(person)``: a client signed in as ``person`` (session); ``api(None)``: anonymous."""

    def client_for(person=None) -> APIClient:
        client = APIClient()
        if person is not None:
            client.force_login(person)
        return client

    return client_for
