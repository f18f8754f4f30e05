"""Severity first, in a real browser on the demo: the overview leads with what is most
dangerous and its numbers lead to lists of that length; the inventory reads as a risk list
whose filter bar fits one row of a laptop screen; the key page puts its id at heading size
and then severity, reasons, usage and who can act, in that order."""

import re

from django.urls import reverse

from .test_journeys import SECURITY

LAPTOP = {"width": 1366, "height": 768}


def test_overview_leads_with_severity_and_a_tile_opens_exactly_its_keys(demo, sign_in):
    security = sign_in(SECURITY)
    page = security.page
    security.goto(reverse("overview"))
    order = page.evaluate("""() => ['.severity-tiles', '[data-testid=top-risks]', '.tiles',
        '.charts'].map(s => document.querySelector(s).getBoundingClientRect().top)""")
    assert order == sorted(order)
    high = int(page.get_by_test_id("severity-high").inner_text())
    assert high > 0  # the demo has overdue keys at least

    # a bar is a link: the age chart's first bar opens the keys of that age
    page.evaluate("""() => { const chart = Chart.getChart(
        document.querySelector('canvas[data-chart=age-chart]'));
        chart.options.onClick(null, [{datasetIndex: 0, index: 0}]); }""")
    page.wait_for_url(re.compile(r".*/keys/\?status=Active&age=0-30$"))
    security.goto(reverse("overview"))

    page.locator("[data-tile=severity-high]").click()
    page.wait_for_url(re.compile(r".*/keys/\?.*severity=high"))
    shown = page.get_by_test_id("key-count").inner_text()
    assert int(re.match(r"\d+", shown).group()) == high
    assert set(page.get_by_test_id("severity").all_inner_texts()) == {"high"}
    assert security.problems == []


def test_inventory_is_a_risk_list_with_one_row_of_filters_on_a_laptop(demo, sign_in):
    security = sign_in(SECURITY)
    page = security.page
    page.set_viewport_size(LAPTOP)
    security.goto(reverse("inventory"))
    boxes = page.eval_on_selector_all(
        "#key-filters .filters > *",
        "els => els.map(e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom])")
    assert max(top for top, _ in boxes) < min(bottom for _, bottom in boxes), boxes  # one row
    security.shoot("inventory-laptop", full_page=False)

    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1, "—": 0}
    severities = [cell.inner_text().strip() for cell in
                  page.locator("#inventory-rows tbody tr td:first-child").all()]
    assert [ranks[s] for s in severities] == sorted((ranks[s] for s in severities),
                                                    reverse=True)
    # findings read in words, the code in a tooltip; the scorecard reads without colour
    finding = page.locator("#inventory-rows [data-code]").first
    assert finding.get_attribute("title") == finding.get_attribute("data-code")
    assert finding.inner_text() != finding.get_attribute("data-code")
    assert {b.inner_text()[0] for b in page.locator(".scorecard .badge").all()} <= {"✓", "✗", "~"}

    page.locator("th a[data-sort=age]").click()
    page.wait_for_url(re.compile(r".*sort=age"))
    assert page.locator("th[aria-sort=ascending] a[data-sort=age]").count() == 1
    page.locator("select[name=status]").select_option("Active")
    page.wait_for_url(re.compile(r".*status=Active"))
    assert "sort=age" in page.url  # the order chosen stays as the filters change
    page.get_by_test_id("clear-filters").click()
    page.wait_for_url(re.compile(r".*/keys/$"))
    assert security.problems == []


def test_key_page_title_then_severity_reasons_usage_and_who_can_act(demo, sign_in):
    from governance.models import AccessKey

    key = AccessKey.objects.filter(status="Active", access_key_id__isnull=False).order_by(
        "-risk", "created_at").first()
    security = sign_in(SECURITY)
    page = security.page
    security.goto(reverse("key-detail", args=[key.pk]))
    title = page.get_by_test_id("key-title")
    assert title.inner_text() == key.access_key_id
    size = page.evaluate("""() => [document.querySelector('[data-testid=key-title]'),
        document.body].map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert size[0] >= 1.5 * size[1], size
    severity = page.evaluate("""() => parseFloat(getComputedStyle(
        document.querySelector('#severity-heading')).fontSize)""")
    assert size[0] > severity  # the title is the largest text on the page
    tops = page.evaluate("""() => ['severity', 'reasons', 'usage', 'who-can-act'].map(
        s => document.querySelector(`[data-section=${s}]`).getBoundingClientRect().top)""")
    assert tops == sorted(tops) and len(set(tops)) == 4, tops
    assert security.problems == []
