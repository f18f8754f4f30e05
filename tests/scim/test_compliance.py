"""scim2-tester, a published SCIM compliance checker, against the live /scim/v2/ endpoint:
every check it makes passes (it does not check filters, paging, ETags or 401s; those are in
test_endpoint.py)."""

import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

pytestmark = pytest.mark.django_db(transaction=True)
PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


def test_every_scim2_tester_check_passes(scim_http):
    client = SyncSCIMClient(scim_http)
    client.discover()

    results = check_server(client)

    failures = [f"{r.status.name} {r.title}: {r.reason}" for r in results
                if r.status not in PASSING | {Status.SKIPPED}]
    assert results and not failures, "\n".join(failures)
    skipped = [r.title for r in results if r.status is Status.SKIPPED]
    assert not skipped, skipped
