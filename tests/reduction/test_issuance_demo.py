"""The demo (issue 17): one issuance request awaiting the security team, and none of the
demo's keys counted as issued without a request (they were there before the first sync)."""

import io

import pytest
from django.core.management import call_command

from reduction.issuance_link import keys_issued_without_request
from reduction.models import IssuanceRequest

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_pending_request_and_flags_none_of_its_keys(moto_server):
    out = io.StringIO()
    call_command("run_demo", "--no-serve", "--history-days", "1", stdout=out)

    request = IssuanceRequest.objects.select_related("requested_by", "account").get()
    assert (request.state, request.requested_by.email, request.account.name) == (
        "requested", "bob.okafor@example.com", "prod")
    assert not request.verdict_is_bad and request.declared_sources == ["192.0.2.0/24"]
    assert f"issuance request #{request.pk} for svc-billing-export" in out.getvalue()
    assert keys_issued_without_request().count() == 0
