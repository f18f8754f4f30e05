"""Every number a page shows is the length of the list it links to.

The overview, the rotation page, the gaps page, my keys and the key age chart are read on
realistic data: keys exactly 30/60/90/120/365 days old (and a day either side), an overdue
key an approved exception covers, a key without owner, a root key, an inactive key and an
account with no logging CloudTrail trail. Each number is followed to its link and the rows
there are counted, as a person checking the dashboard would; the test fails on the first
number that disagrees.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import ROOT_USER_NAME, AccessKey
from governance.services.exceptions import exception_approve, exception_request
from governance.windows import AGE_WINDOWS
from tests.factories import AccessKeyFactory, AccountFactory, IamUserFactory

pytestmark = pytest.mark.django_db

EDGE_AGES = [0, 30, 31, 60, 61, 76, 77, 90, 91, 120, 121, 365, 366]
# A tile: a link around a number (``<a href=...><span class="value" ...>N</span>``).
TILE = re.compile(r'<a href="([^"]+)"[^>]*><span class="value" data-testid="([\w-]+)">'
                  r"(\d+)</span>")
# A chart's bar as a link (``templates/governance/_chart_links.html``).
BAR = re.compile(r'<li><a href="([^"]+)">([^<]*): <span data-count>(\d+)</span></a></li>')


@pytest.fixture
def world(people):
    """The owner's keys at the window edges, in a logged account; two more of theirs and a
    root key in an account without a trail; an untagged key; an inactive key; an overdue key
    excepted for rotation; an UNUSED exception awaiting the owner's manager."""
    logged, unlogged = AccountFactory(name="payments"), AccountFactory(
        name="legacy", cloudtrail_logging=False)
    owner = people["owner"]
    for days in EDGE_AGES:
        AccessKeyFactory(owner=owner, user__account=logged, days_old=days)
    excepted = AccessKeyFactory(owner=owner, user__account=logged, days_old=200)
    unused = AccessKeyFactory(owner=owner, user__account=logged, days_old=70,
                              last_used_at=timezone.now() - timedelta(days=60))
    AccessKeyFactory(user__account=logged, days_old=10)  # nobody's
    AccessKeyFactory(owner=owner, user__account=logged, days_old=400,
                     status=AccessKey.Status.INACTIVE)
    AccessKeyFactory(owner=owner, user__account=unlogged, days_old=5)
    AccessKeyFactory(owner=owner, user__account=unlogged, days_old=100)
    root = AccessKeyFactory(user=IamUserFactory(account=unlogged, name=ROOT_USER_NAME),
                            access_key_id=None, slot=1, days_old=500)
    evaluate_keys()
    excepted.refresh_from_db()
    unused.refresh_from_db()
    soon = timezone.localdate() + timedelta(days=20)
    waiver = exception_request(actor=owner, key=excepted, code="ROTATION_OVERDUE",
                               justification="release freeze", expires_on=soon)
    exception_approve(actor=people["manager"], exception=waiver)
    exception_request(actor=owner, key=unused, code="UNUSED", justification="quarterly job",
                      expires_on=soon)
    return {"root": root, "excepted": excepted}


def rows_behind(client, href: str) -> int:
    """How many rows the list at ``href`` shows (each of these lists fits one page here)."""
    response = client.get(unescape(href))
    assert response.status_code == 200, href
    page = response.context["page"]
    assert not page.has_next(), href
    assert page.paginator.count == len(page.object_list), href
    return page.paginator.count


def account_names_behind(client, href: str) -> set[str]:
    return {key.account.name for key in client.get(unescape(href)).context["page"]}


@pytest.mark.parametrize("persona", ["security", "manager", "owner"])
def test_every_overview_tile_is_the_length_of_the_list_it_links_to(client, people, world,
                                                                     persona):
    client.force_login(people[persona])
    html = client.get(reverse("overview")).content.decode()

    tiles = TILE.findall(html)
    shown = {name for _, name, _ in tiles}
    assert {"severity-critical", "severity-high", "severity-medium", "tile-active",
            "tile-compliant", "tile-overdue", "tile-gaps", "tile-pending"} <= shown
    if persona == "security":
        assert {"tile-no-trail", "tile-bad-accounts"} <= shown
    excepted = re.search(r'<a href="([^"]+)"><span data-testid="tile-excepted">(\d+)<', html)
    assert rows_behind(client, excepted.group(1)) == int(excepted.group(2))
    for href, name, number in tiles:
        if name == "tile-no-trail":  # accounts, not keys: the accounts its keys are in
            assert len(account_names_behind(client, href)) == int(number) == 1
            continue
        assert rows_behind(client, href) == int(number), (name, href)


def test_the_numbers_are_the_ones_the_data_implies(client, people, world):
    """Not only consistent, but right: the count of each thing planted in ``world``."""
    client.force_login(people["security"])
    response = client.get(reverse("overview"))
    tiles, html = response.context["tiles"], response.content.decode()
    active = len(EDGE_AGES) + 6  # the edges, excepted, unused, nobody's, two legacy, root

    assert tiles["total"] == active
    # over 90 days: the edges 91, 120, 121, 365 and 366, legacy's 100 and the root key's 500
    assert tiles["overdue"] == 7 and tiles["overdue_excepted"] == 1
    assert tiles["accounts_without_trail"] == 1  # one account, however many keys it has
    assert dict((s, n) for s, n, _ in response.context["severities"])["critical"] == 1
    assert 'data-testid="severity-critical">1<' in html
    top = response.context["top_risks"]
    assert top[0].code == "ROOT_KEY"  # a sync opens many at once: critical before high
    assert {f.severity for f in top} <= {"critical", "high"}
    assert f'href="{reverse("key-detail", args=[world["root"].pk])}"' in html


def test_age_bars_partition_the_active_keys_and_each_bar_is_its_list(client, people, world):
    client.force_login(people["security"])
    html = client.get(reverse("overview")).content.decode()
    age_bars = BAR.findall(html[html.index('data-chart-links="age"'):])
    age_bars = [bar for bar in age_bars if "age=" in bar[0]]

    assert sum(int(n) for _, _, n in age_bars) == client.get(
        reverse("overview")).context["tiles"]["total"]
    assert {label.removesuffix(" d") for _, label, _ in age_bars} <= {
        w.label for w in AGE_WINDOWS}
    for href, label, number in age_bars:
        assert rows_behind(client, href) == int(number), label


@pytest.mark.parametrize("chart", ["account", "element"])
def test_each_severity_bar_is_the_length_of_its_list(client, people, world, chart):
    client.force_login(people["security"])
    html = client.get(reverse("overview")).content.decode()
    start = html.index(f'data-chart-links="{chart}"')
    bars = BAR.findall(html[start:html.index("</ul>", start)])

    assert bars, chart
    for href, label, number in bars:
        assert "severity=" in href
        assert rows_behind(client, href) == int(number), label


def test_the_account_without_trail_adds_no_key_to_the_medium_count(client, people, world):
    """Its keys stay NO_AUDIT_TRAIL in the inventory, but their severity is their own."""
    client.force_login(people["security"])
    legacy_only_trail = client.get(reverse("inventory"), {"finding": "NO_AUDIT_TRAIL"})
    keys = list(legacy_only_trail.context["page"])

    assert len(keys) == 3 and {k.account.name for k in keys} == {"legacy"}
    assert all("NO_AUDIT_TRAIL" in k.open_code_list for k in keys)
    assert all(k.risk >= 2 for k in keys)  # NO_PURPOSE etc.: their own, not the account's


def test_rotation_page_totals_and_rows_agree_with_the_overview(client, people, world):
    client.force_login(people["security"])
    tiles = client.get(reverse("overview")).context["tiles"]
    rotation = client.get(reverse("rotation"))
    html = rotation.content.decode()
    totals = rotation.context["totals"]

    assert (totals["overdue"], totals["excepted"]) == (tiles["overdue"],
                                                       tiles["overdue_excepted"])
    for state in ("overdue", "excepted", "due"):
        assert sum(row[state] for row in rotation.context["accounts"]) == totals[state]
    assert html.count('data-state="overdue"') == totals["overdue"]
    assert html.count('data-state="excepted"') == totals["excepted"]
    excepted_row = html[html.index(f'data-key="{world["excepted"].access_key_id}"'):]
    excepted_row = excepted_row[:excepted_row.index("</tr>")]
    assert "excepted until" in excepted_row and "overdue" not in excepted_row
    link = re.search(r'<a href="([^"]+)"><strong data-testid="rotation-overdue">(\d+)<',
                     html)
    assert rows_behind(client, link.group(1)) == int(link.group(2))


def test_accounts_page_counts_its_keys_and_the_accounts_not_synced(client, people, world):
    """Each account's active keys are its inventory list; one account synced just now is
    not among those "not synced recently"."""
    from governance.models import AwsAccount

    AwsAccount.objects.filter(name="payments").update(last_synced_at=timezone.now())
    client.force_login(people["security"])
    html = client.get(reverse("aws-accounts")).content.decode()
    cells = re.findall(r'<a href="([^"]+)" data-testid="account-active-keys">(\d+)</a>', html)

    assert sorted(int(n) for _, n in cells) == [3, len(EDGE_AGES) + 3]
    for href, number in cells:
        assert rows_behind(client, href) == int(number)
    tiles = client.get(reverse("overview")).context["tiles"]
    stale = client.get(reverse("aws-accounts"), {"stale": "true"})
    assert tiles["bad_accounts"] == stale.context["page"].paginator.count == 1
    assert [account.name for account, _run in stale.context["rows"]] == ["legacy"]


def test_gaps_page_count_is_its_rows_and_the_overview_tile(client, people, world):
    client.force_login(people["security"])
    gaps = client.get(reverse("ownership-gaps"))
    count = int(re.search(r'data-testid="gap-count">(\d+) ',
                          gaps.content.decode()).group(1))

    assert count == gaps.context["page"].paginator.count
    assert count == len(re.findall(r"<tr data-key=", gaps.content.decode()))
    assert count == client.get(reverse("overview")).context["tiles"]["gaps"]


def test_my_keys_counts_are_their_rows_and_never_ask_for_the_accounts_trail(client, people,
                                                                            world):
    client.force_login(people["owner"])
    html = client.get(reverse("my-keys")).content.decode()
    mine = int(re.search(r'id="my-keys-heading">Your keys <small class="muted">\((\d+)\)',
                         html).group(1))
    section = html[html.index('id="my-keys"'):]

    assert mine == len(re.findall(r'<tr data-key="', section)) == len(EDGE_AGES) + 5
    assert "The account needs a logging multi-region CloudTrail trail" not in html
    assert ">NO_AUDIT_TRAIL<" not in html


def test_a_root_key_is_offered_neither_purpose_nor_exception(client, people, world):
    root = world["root"]
    client.force_login(people["security"])
    html = client.get(reverse("key-detail", args=[root.pk])).content.decode()

    assert "Root user has an active access key" in html
    assert reverse("key-register", args=[root.pk]) not in html
    assert reverse("exception-new", args=[root.pk]) not in html
    assert "cannot be waived" in html


def test_status_since_is_the_keys_creation_not_the_first_sync(client, people, world):
    key = AccessKey.objects.filter(status=AccessKey.Status.ACTIVE,
                                   access_key_id__isnull=False).order_by("created_at").first()
    client.force_login(people["security"])
    html = client.get(reverse("key-detail", args=[key.pk])).content.decode()
    status = re.search(r'data-testid="status">([^<]*)<', html).group(1)

    assert status == f"Active since {key.created_at:%Y-%m-%d}"
    assert key.first_seen_at.date() != key.created_at.date()
