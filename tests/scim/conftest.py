"""SCIM tests: a live /scim/v2/ reached over HTTP with a real SCIM token."""

import httpx2
import pytest

from scim.tokens import scim_token_create


@pytest.fixture
def scim_token(db):
    """The secret of a fresh SCIM token (``create_scim_token`` makes the same)."""
    return scim_token_create(actor=None, name="tests", days=30)[1]


@pytest.fixture
def scim_http(live_server, scim_token, transactional_db):
    """An HTTP client for the live SCIM endpoint, authenticated with the token."""
    with httpx2.Client(base_url=f"{live_server.url}/scim/v2",
                       headers={"Authorization": f"Bearer {scim_token}"}, timeout=30) as client:
        yield client
