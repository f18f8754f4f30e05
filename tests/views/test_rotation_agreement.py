"""The overview, the rotation page and the inventory agree on what is overdue and how old
keys are.

Overdue means an open ``ROTATION_OVERDUE`` finding no exception covers; an overdue key an
approved exception covers is "excepted", shown apart, never as overdue. The overview's key
age chart and the inventory's age filter share their windows, so each bar is exactly the
keys the filter of the same name lists, and each key is in one bar.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey
from governance.services.exceptions import exception_approve, exception_request
from governance.windows import AGE_WINDOWS
from tests.factories import AccessKeyFactory, AccountFactory, IamUserFactory, personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return personas()


def owned_key(account, days_old: int) -> AccessKey:
    user = IamUserFactory(account=account, tags={"owner": "owner@example.com"})
    return AccessKeyFactory(user=user, created_at=timezone.now() - timedelta(days=days_old))


def listed(response) -> set[str]:
    return {key.access_key_id for key, _card in response.context["rows"]}


def test_overview_rotation_page_and_inventory_count_the_same_overdue_keys(client, people):
    account = AccountFactory(name="payments")
    overdue, excepted = owned_key(account, 120), owned_key(account, 200)
    owned_key(account, 80)  # due soon
    owned_key(account, 10)  # fine
    evaluate_keys()
    excepted.refresh_from_db()  # the evaluation resolved its owner from the tag
    waiver = exception_request(actor=people["owner"], key=excepted, code="ROTATION_OVERDUE",
                               justification="release freeze",
                               expires_on=timezone.localdate() + timedelta(days=20))
    exception_approve(actor=people["manager"], exception=waiver)
    client.force_login(people["security"])

    overview = client.get(reverse("overview"))
    rotation = client.get(reverse("rotation"))
    inventory = client.get(reverse("inventory"), {"finding": "ROTATION_OVERDUE"})

    tiles, totals = overview.context["tiles"], rotation.context["totals"]
    assert (tiles["overdue"], tiles["overdue_excepted"]) == (1, 1)
    assert (totals["overdue"], totals["excepted"], totals["due"]) == (1, 1, 1)
    row = next(r for r in rotation.context["accounts"] if r["account__name"] == "payments")
    assert (row["overdue"], row["excepted"], row["due"], row["fine"]) == (1, 1, 1, 1)
    assert inventory.context["page"].paginator.count == 1
    assert listed(inventory) == {overdue.access_key_id}
    assert f'href="{reverse("inventory")}?finding=ROTATION_OVERDUE"' in overview.content.decode()
    assert 'data-testid="tile-overdue">1<' in overview.content.decode()
    page = rotation.content.decode()
    assert 'data-testid="rotation-overdue">1<' in page
    assert "excepted until" in page and excepted.access_key_id in page


EDGE_AGES = [0, 1, 30, 31, 60, 61, 76, 77, 90, 91, 120, 121, 180, 181, 365, 366, 800]


def test_each_key_is_in_one_age_bar_and_each_bar_is_its_age_filter(client, people):
    account = AccountFactory()
    for days in EDGE_AGES:
        owned_key(account, days)
    evaluate_keys()
    client.force_login(people["security"])

    chart = client.get(reverse("overview")).context["age_chart"]
    bars = dict(zip(chart["data"]["labels"], chart["data"]["datasets"][0]["data"],
                    strict=True))

    assert sum(bars.values()) == len(EDGE_AGES)
    for window in AGE_WINDOWS:
        expected = sum(window.first <= days <= (window.last or days) for days in EDGE_AGES)
        filtered = client.get(reverse("inventory"), {"age": window.label})
        assert bars[f"{window.label} d"] == expected, window
        assert filtered.context["page"].paginator.count == expected, window


@pytest.mark.parametrize(("wider", "narrower"), [
    ("31-76", ["31-60", "61-76"]), ("91-180", ["91-120", "121-180"]),
    ("181+", ["181-365", "366+"]),
])
def test_the_filters_wider_age_windows_are_unions_of_the_charts(client, people, wider,
                                                                narrower):
    account = AccountFactory()
    for days in EDGE_AGES:
        owned_key(account, days)
    client.force_login(people["security"])

    def ids(label):
        return listed(client.get(reverse("inventory"), {"age": label}))

    assert ids(wider) == set().union(*(ids(label) for label in narrower))
