"""The usage evidence in a real browser, on the demo: the key used from an address its owner
never declared shows it first in its Usage panel, with the daily chart drawn under the strict
CSP and no accessibility violation; the inventory's filter lists exactly that key."""

import re

from django.urls import reverse

from demo.activity import DECLARED_USER, UNDECLARED_ADDRESS
from governance.models import AccessKey

from .test_journeys import SECURITY
from .test_pages import serious_violations


def test_the_usage_panel_and_the_undeclared_filter_on_the_demo(demo, sign_in):
    key = AccessKey.objects.get(account__name="prod", user__name=DECLARED_USER,
                                status="Active")
    security = sign_in(SECURITY)
    page = security.page
    security.goto(reverse("key-detail", args=[key.pk]))
    panel = page.locator("[data-section=usage-evidence]")
    assert "Usage in the last 30 days" in panel.locator("h3").inner_text()
    first = panel.locator("[data-testid=usage-addresses] tbody tr").first
    assert UNDECLARED_ADDRESS in first.inner_text() and "✗ not declared" in first.inner_text()
    assert "✓ declared" in panel.get_by_test_id("usage-addresses").inner_text()
    assert panel.locator("[data-testid=usage-chart] rect").count() == 30
    box = panel.get_by_test_id("usage-chart").bounding_box()
    assert box and box["height"] == 60 and box["width"] > 300
    assert "aws-cli/" in panel.get_by_test_id("usage-agents").inner_text()
    assert serious_violations(page) == []
    security.shoot("key-detail-usage")

    security.goto(reverse("inventory"))
    page.locator("select[name=undeclared_source]").select_option("true")
    page.wait_for_url(re.compile(r".*undeclared_source=true"))
    page.wait_for_selector("#inventory-rows")
    rows = page.locator("#inventory-rows tbody tr")
    assert [rows.nth(i).get_attribute("data-key") for i in range(rows.count())] == [
        key.access_key_id]
    assert page.get_by_test_id("key-count").inner_text() == "1 key"
    assert security.problems == []
