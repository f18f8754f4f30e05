"""An incident, in a real browser on the demo: the security lead follows the unexpected-source
alert from the overview's top risks to the incident view, sees the undeclared address and
its timeline, downloads the key's evidence, and deactivates the key; AWS (moto) and the
audit log agree."""

import json
import re
from pathlib import Path

from django.urls import reverse

from demo.activity import DECLARED_SOURCES, DECLARED_USER, UNDECLARED_ADDRESS
from demo.responder import RESPONDER_ROLE_NAME
from governance.models import AccessKey, AuditEvent
from tests.conftest import account_clients

from .test_journeys import SECURITY


def _top_risk_row(page, code: str):
    return page.locator("[data-testid=top-risks] tbody tr").filter(
        has=page.locator(f'span[title="{code}"]'))


def test_an_unexpected_source_alert_leads_to_the_incident_view_and_deactivation(
        demo, sign_in, settings):
    settings.KEYLEDGER_RESPONDER_ROLE_NAME = RESPONDER_ROLE_NAME  # as run_demo serves it
    key = AccessKey.objects.select_related("account", "owner").get(
        account__name="prod", user__name=DECLARED_USER, status="Active")
    security = sign_in(SECURITY)
    page = security.page
    security.goto(reverse("overview"))

    # The alert is among the top risks; AWS's exposed key offers the incident view too.
    alert = _top_risk_row(page, "UNEXPECTED_SOURCE")
    assert alert.count() == 1 and key.access_key_id in alert.inner_text()
    assert UNDECLARED_ADDRESS in alert.inner_text()  # the reason names the address
    assert _top_risk_row(page, "KEY_EXPOSED").get_by_test_id("top-risk-incident").count() == 1
    alert.get_by_test_id("top-risk-incident").click()
    page.wait_for_url(re.compile(rf".*/keys/{key.pk}/incident/$"))

    # One page: owner, declared sources, the undeclared address first, the timeline.
    assert key.owner.email in page.get_by_test_id("incident-owner").inner_text()
    assert page.get_by_test_id("declared-sources").inner_text() == ", ".join(DECLARED_SOURCES)
    assert "Key used from an undeclared source" in page.get_by_test_id(
        "incident-findings").inner_text()
    first_address = page.locator("[data-testid=usage-addresses] tbody tr").first
    assert UNDECLARED_ADDRESS in first_address.inner_text()
    assert "not declared" in first_address.inner_text()
    bars = page.locator("[data-testid=usage-chart] rect")
    assert bars.count() == 30
    page.get_by_test_id("usage-days").locator("..").locator("summary").click()
    day_rows = page.locator("[data-testid=usage-days] tbody tr")
    assert day_rows.count() == 30
    security.shoot("incident-view")

    # The evidence, downloaded for the incident record.
    with page.expect_download() as download:
        page.get_by_test_id("incident-export").click()
    record = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename.startswith(
        f"keyledger-incident-{key.access_key_id}-")
    assert record["key"]["access_key_id"] == key.access_key_id
    assert record["key"]["status"] == "Active"
    assert record["owner"]["email"] == key.owner.email
    assert record["registration"]["declared_sources"] == list(DECLARED_SOURCES)
    assert "UNEXPECTED_SOURCE" in {f["code"] for f in record["open_findings"]}
    assert [u["address"] for u in record["usage"]["undeclared"]] == [UNDECLARED_ADDRESS]
    assert record["usage"]["days"] and record["usage"]["window_days"] == 30
    assert "secret" not in json.dumps(record).lower()
    assert AuditEvent.objects.filter(action="key.export_evidence", actor__email=SECURITY,
                                     object_id=str(key.pk)).count() == 1

    # Deactivate, with a reason; the page shows the new state.
    page.fill("#incident-response input[name=reason]", "used from 198.18.44.7, not declared")
    page.check("#incident-response input[name=confirm]")
    page.click("#incident-response button[type=submit]")
    page.wait_for_url(re.compile(rf".*/keys/{key.pk}/incident/$"))
    assert page.get_by_test_id("incident-status").inner_text().startswith("Inactive")
    assert "is now Inactive in AWS" in page.content()
    assert page.get_by_test_id("not-active").count() == 1

    iam = account_clients(key.account.account_id).client("iam")
    statuses = {k["AccessKeyId"]: k["Status"] for k in
                iam.list_access_keys(UserName=DECLARED_USER)["AccessKeyMetadata"]}
    assert statuses[key.access_key_id] == "Inactive"
    event = AuditEvent.objects.get(action="key.deactivate", object_id=str(key.pk))
    assert event.actor.email == SECURITY
    assert event.after == {"status": "Inactive", "reason": "used from 198.18.44.7, not declared"}
    assert security.problems == [] and security.dialogs == []
