"""The burn-down on real Postgres: the weekly series from the keys and from the snapshots,
who sees what, the filters, the plans that link to their list, the CSV and the API."""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AccessKey, DailySnapshot
from governance.trends import snapshot_take
from reduction.burndown import KEYS, SNAPSHOTS, Scope, burndown_panel, lifetime_weeks, weekly_series
from reduction.burndown_views import CSV_COLUMNS
from reduction.models import MigrationPlan
from tests.factories import AccessKeyFactory, AccountFactory, IamUserFactory

pytestmark = pytest.mark.django_db

WEEKS = 4


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def mondays(today):
    this = today - timedelta(days=today.weekday())
    return [this - timedelta(weeks=back) for back in range(WEEKS - 1, -1, -1)]


def make_key(owner=None, account=None, *, created: datetime, removed: datetime | None = None,
             deactivated: datetime | None = None, first_seen: datetime | None = None,
             status="Active"):
    """A key as a sync leaves it: created by AWS, first seen, maybe seen deactivated (an
    Inactive key whose status changed after its first sighting) or deleted (``removed_at``)."""
    user = IamUserFactory(**({"account": account} if account else {}))
    key = AccessKeyFactory(user=user, created_at=created)
    seen = first_seen or created
    AccessKey.objects.filter(pk=key.pk).update(
        owner=owner, first_seen_at=seen, removed_at=removed,
        status="Inactive" if deactivated else status,
        status_changed_at=deactivated or seen)
    key.refresh_from_db()
    return key


@pytest.fixture
def history(people, mondays):
    """Three weeks ago: five keys of the owner (prod) and one of the other owner (dev); then
    one retired a week (deleted, deactivated), one added this week; one key inactive since
    first seen (never active in the record)."""
    owner, other = people["owner"], people["other_owner"]
    prod, dev = AccountFactory(name="prod"), AccountFactory(name="dev")
    long_ago = at(mondays[0]) - timedelta(days=200)
    keys = [make_key(owner, prod, created=long_ago) for _ in range(5)]
    keys.append(make_key(other, dev, created=long_ago))
    make_key(owner, prod, created=long_ago, status="Inactive")  # inactive when first seen
    deleted = keys[0]
    AccessKey.objects.filter(pk=deleted.pk).update(removed_at=at(mondays[1], 9))
    make_key(owner, prod, created=long_ago, first_seen=long_ago,
             deactivated=at(mondays[2] + timedelta(days=2)))
    make_key(owner, prod, created=at(mondays[3], 8))
    return {"prod": prod, "dev": dev}


def test_weekly_numbers_from_the_keys_added_retired_and_active(people, history, mondays,
                                                              today):
    weeks, source = weekly_series(Scope(people["manager"]), today=today, weeks=WEEKS)
    assert source == KEYS
    assert [w.start for w in weeks] == mondays
    assert [(w.active, w.added, w.retired) for w in weeks] == [
        (6, 0, 0), (5, 0, 1), (4, 0, 1), (5, 1, 0)]
    # Each week's line moves by exactly its bars.
    for before, week in zip(weeks, weeks[1:], strict=False):
        assert week.active == before.active + week.added - week.retired


def test_the_security_teams_line_is_the_snapshots_and_agrees_with_them(
        people, history, mondays, today):
    weeks, source = weekly_series(Scope(people["security"]), today=today, weeks=WEEKS)
    assert source == SNAPSHOTS
    assert [w.active for w in weeks] == [None] * WEEKS  # no snapshot yet
    snapshot_take(day=today)
    weeks, _ = weekly_series(Scope(people["security"]), today=today, weeks=WEEKS)
    snapshot_total = sum(DailySnapshot.objects.filter(
        day=today, dimension="keys", name="active").values_list("count", flat=True))
    assert weeks[-1].active == snapshot_total == 6  # five of the owner's, one of the other's
    # The keys' reconstruction says the same for this week.
    by_keys, _ = weekly_series(Scope(people["security"], team=people["manager"]),
                               today=today, weeks=WEEKS)
    assert by_keys[-1].active == 5  # the manager's team: the owner's keys only
    assert len(weeks) == 1 and weeks[-1].added == 1  # the line starts with the record
    assert [w.retired for w in by_keys] == [0, 1, 1, 0]


def test_the_week_takes_its_last_snapshot_day(people, history, mondays, today):
    prod = history["prod"]
    for day, n in ((mondays[1], 9), (mondays[1] + timedelta(days=3), 8), (mondays[2], 4)):
        DailySnapshot.objects.create(day=day, account=prod, dimension="keys", name="active",
                                     count=n)
    DailySnapshot.objects.create(day=mondays[2], account=history["dev"], dimension="keys",
                                 name="active", count=1)
    DailySnapshot.objects.create(day=mondays[2], account=prod, dimension="compliance",
                                 name="compliant", count=99)  # another dimension: ignored
    weeks, _ = weekly_series(Scope(people["security"]), today=today, weeks=WEEKS)
    assert [w.active for w in weeks] == [8, 5, None]  # from the first snapshot on
    one, _ = weekly_series(Scope(people["security"], account=history["dev"]), today=today,
                           weeks=WEEKS)
    assert [w.active for w in one] == [1, None]


def test_the_demos_replayed_snapshots_agree_with_the_keys_week_by_week(people, history,
                                                                     mondays, today):
    """``make demo``'s history: each past week's last snapshot (Sunday noon) counts the
    keys the lifetimes count at the week's end, deletions and seen deactivations included."""
    from demo.history import seed_history

    days = (today - mondays[0]).days + 1
    seed_history(days=days, today=today)
    assert AccessKey.objects.filter(user__user_id__startswith="AIDARETIRED").count() == days - 1
    weeks, source = weekly_series(Scope(people["security"]), today=today, weeks=WEEKS)
    by_keys = lifetime_weeks(AccessKey.objects.all(), mondays)
    assert source == SNAPSHOTS and len(weeks) == WEEKS
    assert [w.active for w in weeks[:-1]] == [w.active for w in by_keys[:-1]]
    # Going down: the fixture's retirements and one demo key retired a day.
    assert weeks[0].active > weeks[1].active > weeks[2].active
    status = dict(AccessKey.objects.values_list("pk", "status"))
    seed_history(days=3, today=today)  # the replay left the keys as they are now
    assert dict(AccessKey.objects.values_list("pk", "status")) == status


def test_an_owner_sees_their_own_keys_and_a_manager_their_team(people, history, today):
    def line(person, **filters):
        weeks, _ = weekly_series(Scope(person, **filters), today=today, weeks=WEEKS)
        return [w.active for w in weeks]

    assert line(people["owner"]) == [6, 5, 4, 5]
    assert line(people["other_owner"]) == [1, 1, 1, 1]
    assert line(people["manager"]) == [6, 5, 4, 5]  # their own (none) and their report's
    assert line(people["other_manager"]) == [1, 1, 1, 1]
    assert line(people["no_manager"]) == [0, 0, 0, 0]
    assert line(people["security"], team=people["other_manager"]) == [1, 1, 1, 1]
    assert line(people["security"], account=history["dev"]) == [None] * WEEKS  # snapshots


def get(client, person, path, **params):
    client.force_login(person)
    return client.get(path, params)


def test_the_page_shows_the_weeks_the_forecast_and_the_chart(client, people, history):
    response = get(client, people["owner"], reverse("burn-down"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="burndown-chart"' in body and "<polyline" in body
    weeks = response.context["weeks"]
    assert [w.active for w in weeks][:4] == [5, 4, 5, 6]  # newest first
    assert "reached around" in body  # 5 -> 4: going down
    assert "counts every active key" in body
    assert 'name="team"' not in body  # only the security team filters by team


def test_filters_offer_and_accept_only_what_the_person_may_see(client, people, history):
    url = reverse("burn-down")
    owner = people["owner"]
    assert get(client, owner, url, account=history["dev"].pk).status_code == 400
    assert get(client, owner, url, account=history["prod"].pk).status_code == 200
    assert get(client, owner, url, team=people["manager"].pk).status_code == 400
    assert get(client, people["manager"], url, team=people["manager"].pk).status_code == 400
    refused = get(client, owner, url, account="nope")
    assert refused.status_code == 400 and "not valid" in refused.content.decode()
    shown = get(client, people["security"], url, team=people["other_manager"].pk)
    assert shown.status_code == 200
    assert {w.active for w in shown.context["weeks"]} == {1}
    accounts = list(get(client, owner, url).context["filters"].fields["account"].queryset)
    assert accounts == [history["prod"]]


def test_an_empty_history_says_when_the_burn_down_starts(client, people):
    response = get(client, people["security"], reverse("burn-down"))
    assert response.status_code == 200
    assert "starts with the first daily snapshot" in response.content.decode()
    assert response.context["shown"].forecast.current is None


def test_anonymous_people_are_sent_to_sign_in(client):
    for name in ("burn-down", "burn-down-export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.get(reverse("api-burn-down")).status_code in (401, 403)


@pytest.fixture
def plans(people, history, today):
    keys = list(AccessKey.objects.filter(owner=people["owner"], status="Active",
                                         removed_at__isnull=True)[:3])
    other = AccessKey.objects.get(owner=people["other_owner"])
    now = timezone.now()
    for key, state in zip([*keys, other], ["planned", "planned", "in_progress", "planned"],
                          strict=True):
        MigrationPlan.objects.create(key=key, path="iam_role", target_date=today,
                                     state=state, opened_by=people["security"], opened_at=now,
                                     state_changed_at=now)


def test_plan_counts_equal_the_plans_list_they_link_to(client, people, plans):
    for persona, expected in (("owner", {"planned": 2, "in_progress": 1}),
                              ("security", {"planned": 3, "in_progress": 1})):
        response = get(client, people[persona], reverse("burn-down"))
        linked = {state: (n, href) for state, _label, n, href in response.context["plans"]}
        assert {s: n for s, (n, _h) in linked.items() if n} == expected
        for state, (n, href) in linked.items():
            assert href == f"{reverse('plans')}?state={state}"
            listed = client.get(href)
            assert listed.status_code == 200
            assert listed.context["page"].paginator.count == n, (persona, state)


def test_filtered_plan_counts_do_not_link_to_the_unfiltered_list(client, people, plans,
                                                                  history):
    response = get(client, people["security"], reverse("burn-down"),
                   account=history["dev"].pk)
    linked = {state: (n, href) for state, _label, n, href in response.context["plans"]}
    assert linked["planned"] == (1, "")


def test_csv_has_the_pages_weeks_formula_safe(client, people, history):
    response = get(client, people["owner"], reverse("burn-down-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[1:] for r in rows[-4:]] == [["6", "0", "0"], ["5", "0", "1"], ["4", "0", "1"],
                                          ["5", "1", "0"]]
    assert len(rows) == 1 + 26
    assert get(client, people["owner"], reverse("burn-down-export"),
               account=history["dev"].pk).status_code == 400


def test_api_has_the_same_weeks_filters_and_forecast(client, people, history):
    response = get(client, people["security"], reverse("api-burn-down"),
                   team=people["manager"].pk)
    assert response.status_code == 200
    data = response.json()
    assert data["source"] == "keys"
    assert set(data) == {"source", "weeks", "forecast", "plans"}
    assert [w["active_keys"] for w in data["weeks"]][-4:] == [6, 5, 4, 5]
    assert set(data["weeks"][0]) == {"week_start", "active_keys", "keys_added",
                                     "keys_retired"}
    assert data["forecast"]["target"] == 0 and data["forecast"]["date"] is not None
    assert set(data["plans"]) == {"planned", "in_progress", "replaced", "done"}
    refused = get(client, people["owner"], reverse("api-burn-down"), account=history["dev"].pk)
    assert refused.status_code == 400 and "account" in refused.json()
    misspelt = get(client, people["owner"], reverse("api-burn-down"), acount=1)
    assert misspelt.status_code == 400 and list(misspelt.json()) == ["acount"]
    schema = get(client, people["owner"], reverse("api-schema")).content.decode()
    assert "/api/v1/burn-down/" in schema and "keys_retired" in schema


def test_the_overview_panel_compares_now_with_twelve_weeks_ago(client, people, history,
                                                               today):
    panel = burndown_panel(people["owner"], today=today)
    assert (panel.before, panel.now) == (6, 5)
    response = get(client, people["owner"], reverse("overview"))
    assert 'data-testid="burndown-panel"' in response.content.decode()
    assert reverse("burn-down") in response.content.decode()


@pytest.mark.parametrize("persona", ["security", "owner"])
def test_queries_do_not_grow_with_keys_or_weeks(client, people, history, persona):
    def count(path):
        client.force_login(people[persona])
        cache.clear()  # the snapshot line is cached: count the uncached answer
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    paths = [reverse("burn-down"), reverse("burn-down-export"), reverse("api-burn-down")]
    before = [count(p) for p in paths]
    long_ago = timezone.now() - timedelta(days=300)
    for i in range(30):
        make_key(people["owner"], history["prod"], created=long_ago + timedelta(days=9 * i),
                 removed=long_ago + timedelta(days=9 * i + 40) if i % 2 else None)
    for back in range(60):
        snapshot_take(day=timezone.localdate() - timedelta(days=back))
    assert [count(p) for p in paths] == before
