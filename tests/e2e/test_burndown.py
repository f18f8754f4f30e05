"""The burn-down in real Chromium, on the demo organization with ``make demo``'s 120 days of
history: a line going down, the same numbers in the chart and the table, a forecast date,
no script and no accessibility problem under the strict CSP; its screenshot is the README's
(``make screenshots`` copies ``readme-burndown``)."""

from django.urls import reverse

from demo.history import HISTORY_DAYS, seed_history
from governance.models import AccessKey

from .test_journeys import OWNER, SECURITY
from .test_pages import serious_violations


def table_weeks(page) -> list[tuple[str, int | None, int, int]]:
    """(week, active, added, retired) of the page's table, oldest first."""
    rows = []
    for row in page.get_by_test_id("burndown-weeks").locator("tbody tr").all():
        week = row.get_attribute("data-week") or ""
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        rows.append((week, int(cells[0]) if cells[0].isdigit() else None, int(cells[1]),
                     int(cells[2])))
    return rows[::-1]


def test_the_burn_down_goes_down_with_its_numbers_in_the_chart_and_table(demo, sign_in):
    seed_history(days=HISTORY_DAYS)  # the 120 days `make demo` replays (the fixture has 14)
    security = sign_in(SECURITY)
    security.goto(reverse("overview"))
    panel = security.page.get_by_test_id("burndown-panel")
    now = int(panel.get_by_test_id("burndown-now").inner_text())
    assert now == AccessKey.objects.filter(removed_at__isnull=True, status="Active").count()
    assert int(panel.get_by_test_id("burndown-before").inner_text()) > now
    panel.get_by_role("link", name="See the burn-down").click()
    security.page.wait_for_url("**/burn-down/")

    weeks = table_weeks(security.page)
    counted = [active for _w, active, _a, _r in weeks if active is not None]
    assert len(counted) >= 17 and counted[0] > counted[-1] == now  # a line going down
    assert sum(r for *_rest, r in weeks) >= 110  # the keys retired over the months
    chart = security.page.get_by_test_id("burndown-chart")
    assert chart.is_visible()
    dots = [int(title.split(": ")[1].split()[0]) for title in
            chart.locator("circle > title").all_text_contents()]
    assert dots == counted  # the chart draws the table's numbers
    sentence = security.page.get_by_test_id("forecast-sentence").inner_text()
    assert "reached around" in sentence
    assert serious_violations(security.page) == []
    security.shoot("burndown")
    security.shoot("readme-burndown", full_page=False)

    # An owner sees the line of their own keys, without the team filter.
    owner = sign_in(OWNER)
    owner.goto(reverse("burn-down"))
    assert owner.page.locator("select[name=team]").count() == 0
    own = [a for _w, a, _ad, _r in table_weeks(owner.page)]
    assert own[-1] == AccessKey.objects.filter(owner__email=OWNER, removed_at__isnull=True,
                                               status="Active").count()
    assert serious_violations(owner.page) == []
    owner.shoot("burndown-owner")
    assert security.problems == [] and owner.problems == []
    assert security.dialogs == [] and owner.dialogs == []
