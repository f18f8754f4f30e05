"""What the inventory and accounts pages keep doing after the changes made for 100,000 keys.

The search became a union of indexed lookups, the account filter's options are built by the
view and the AWS accounts page is paginated; these tests pin what a person notices.
"""

import pytest
from django.urls import reverse

from governance.evaluation import evaluate_keys
from governance.models import AccessKey
from tests.factories import AccessKeyFactory, AccountFactory, IamUserFactory, personas

pytestmark = pytest.mark.django_db



def listed_ids(response) -> set[str]:
    return {key.access_key_id for key, _card in response.context["rows"]}


@pytest.fixture
def keys(people):
    account = AccountFactory(name="prod")
    tagged = AccessKeyFactory(user=IamUserFactory(account=account, name="ci-deployer",
                                                  tags={"team": "Payments-Core"}))
    owned = AccessKeyFactory(user=IamUserFactory(account=account, name="batch",
                                                 tags={"owner": people["owner"].email}))
    other = AccessKeyFactory(user=IamUserFactory(account=account, name="reporting"))
    evaluate_keys()
    return {"tagged": tagged, "owned": owned, "other": other}


@pytest.mark.parametrize(("search", "expected"), [
    ("tagged-key-id", {"tagged"}),       # a whole key id, typed in lower case
    ("deploy", {"tagged"}),              # part of an IAM user name
    ("payments-core", {"tagged"}),       # a tag value, any case
    ("OWNER@EXAMPLE", {"owned"}),        # part of the owner's e-mail
    ("no such thing", set()),
])
def test_search_finds_keys_by_id_user_tag_or_owner(client, people, keys, search, expected):
    if search == "tagged-key-id":
        search = keys["tagged"].access_key_id.lower()
    client.force_login(people["security"])

    response = client.get(reverse("inventory"), {"q": search})

    assert response.status_code == 200
    assert listed_ids(response) == {keys[name].access_key_id for name in expected}
    assert response.context["page"].paginator.count == len(expected)


def test_search_by_part_of_a_key_id_still_matches(client, people, keys):
    client.force_login(people["security"])
    part = keys["other"].access_key_id[-6:]

    response = client.get(reverse("inventory"), {"q": part})

    assert keys["other"].access_key_id in listed_ids(response)


def test_search_keeps_visibility_for_owners(client, people, keys):
    client.force_login(people["owner"])

    response = client.get(reverse("inventory"), {"q": keys["tagged"].access_key_id})

    assert listed_ids(response) == set()


def test_api_and_export_agree_with_the_page_on_a_search(client, people, keys):
    client.force_login(people["security"])

    api = client.get("/api/v1/keys/", {"q": "deploy"})
    export = client.get(reverse("inventory-export"), {"q": "deploy"})

    assert api.status_code == 200
    assert keys["tagged"].access_key_id in api.content.decode()
    assert keys["owned"].access_key_id not in api.content.decode()
    body = b"".join(export.streaming_content).decode()
    assert keys["tagged"].access_key_id in body
    assert keys["other"].access_key_id not in body


def test_account_filter_lists_accounts_escaped_and_keeps_the_choice(client, people):
    chosen = AccountFactory(name="<b>prod</b>")
    AccountFactory(name="staging")
    client.force_login(people["security"])

    response = client.get(reverse("inventory"), {"account": chosen.pk})

    html = response.content.decode()
    assert f'<option value="{chosen.pk}" selected>&lt;b&gt;prod&lt;/b&gt; ' in html
    assert "<b>prod</b>" not in html
    assert "staging" in html


def test_aws_accounts_page_is_paginated_with_key_counts(client, people):
    accounts = [AccountFactory(name=f"acct-{i:03d}") for i in range(101)]
    AccessKeyFactory.create_batch(2, user=IamUserFactory(account=accounts[0]))
    AccessKeyFactory(user=IamUserFactory(account=accounts[0]), status=AccessKey.Status.INACTIVE)
    client.force_login(people["security"])

    first = client.get(reverse("aws-accounts"))
    second = client.get(reverse("aws-accounts"), {"page": 2})

    assert first.status_code == second.status_code == 200
    assert len(first.context["rows"]) == 100
    assert [a.name for a, _run in second.context["rows"]] == ["acct-100"]
    counts = {a.name: a.active_keys for a, _run in first.context["rows"]}
    assert counts["acct-000"] == 2
    assert counts["acct-001"] == 0
    assert "page=2" in first.content.decode()


def test_deep_pages_list_the_same_keys_as_plain_offsets(client, people, monkeypatch):
    """Skipping whole account names (LeadingFieldSeek) must not change a page's rows."""
    from governance.views.paging import PAGE_SIZE, LeadingFieldSeek

    for name, users in (("b-prod", 3), ("a-dev", 2), ("b-prod", 2), ("c-ops", 4)):
        account = AccountFactory(name=name)  # two accounts share a name: their keys mix
        for _ in range(users):
            AccessKeyFactory.create_batch(9, user=IamUserFactory(account=account))
    monkeypatch.setattr(LeadingFieldSeek, "SEEK_FROM", 0)
    plain = list(AccessKey.objects.filter(removed_at__isnull=True).order_by(
        "account__name", "user__name", "created_at", "pk").values_list("access_key_id",
                                                                       flat=True))
    client.force_login(people["security"])

    pages = [client.get(reverse("inventory"), {"sort": "account", "page": n}) for n in (1, 2)]

    assert [k.access_key_id for p in pages for k, _card in p.context["rows"]] == plain
    assert len(plain) == 99 and len(pages[0].context["rows"]) == PAGE_SIZE


@pytest.mark.django_db(transaction=True)
def test_key_count_follows_committed_changes(client):
    """A committed write shows in the next count (once reused while the data was unchanged)."""
    people = personas()
    AccessKeyFactory.create_batch(3)
    client.force_login(people["security"])

    first = client.get(reverse("inventory"))
    again = client.get(reverse("inventory"))
    AccessKeyFactory()
    after_write = client.get(reverse("inventory"))

    assert first.context["page"].paginator.count == 3
    assert again.context["page"].paginator.count == 3
    assert after_write.context["page"].paginator.count == 4


# -- a capped count: long lists say "10,000+" and still page to the end -----------------------

@pytest.fixture
def cap_of_3(monkeypatch):
    from governance.views.paging import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 3)


def key_ids(n: int):
    AccessKeyFactory.create_batch(n)
    return AccessKey.objects.order_by("pk").values_list("access_key_id", flat=True)


def test_a_long_list_is_counted_up_to_the_cap(cap_of_3):
    from governance.views.paging import CappedCountPaginator

    paginator = CappedCountPaginator(key_ids(9), 2)

    assert (paginator.count, paginator.capped, paginator.count_label) == (4, True, "3+")
    short = CappedCountPaginator(list(key_ids(0)[:3]), 2)
    assert (short.count, short.capped, short.count_label) == (3, False, "3")


def test_pages_past_the_counted_rows_are_served_while_they_have_rows(cap_of_3):
    from governance.views.paging import CappedCountPaginator

    ids = key_ids(9)
    paginator = CappedCountPaginator(ids, 2)

    pages = [paginator.get_page(n) for n in (1, 2, 4, 5)]

    assert [list(p.object_list) for p in pages] == [list(ids[0:2]), list(ids[2:4]),
                                                    list(ids[6:8]), list(ids[8:9])]
    assert [p.has_next() for p in pages] == [True, True, True, False]
    assert pages[2].next_page_number() == 5 and paginator.capped


@pytest.mark.parametrize("number", ["6", "600", str(10**30), "0", "-1"])
def test_a_page_past_the_end_of_a_long_list_is_its_last_page_counted(cap_of_3, number):
    from governance.views.paging import CappedCountPaginator

    ids = key_ids(9)
    paginator = CappedCountPaginator(ids, 2)

    page = paginator.get_page(number)

    assert (page.number, list(page.object_list)) == (5, list(ids[8:9]))
    assert (paginator.count, paginator.capped, paginator.count_label) == (9, False, "9")


def test_the_inventory_says_how_many_keys_up_to_the_cap(client, people, cap_of_3):
    AccessKeyFactory.create_batch(5)
    client.force_login(people["security"])

    first = client.get(reverse("inventory"))
    past = client.get(reverse("inventory"), {"page": 2})

    assert '<span data-testid="key-count">3+ keys</span>' in first.content.decode()
    assert "Page 1</span>" in first.content.decode()
    assert '<span data-testid="key-count">5 keys</span>' in past.content.decode()
    assert "Page 1 of 1</span>" in past.content.decode()


def test_deep_pages_past_the_cap_list_the_same_keys_as_plain_offsets(client, people,
                                                                     monkeypatch):
    from governance.views.paging import PAGE_SIZE, CappedCountPaginator, LeadingFieldSeek

    for name in ("b-prod", "a-dev", "c-ops"):
        account = AccountFactory(name=name)
        for _ in range(3):
            AccessKeyFactory.create_batch(13, user=IamUserFactory(account=account))
    monkeypatch.setattr(LeadingFieldSeek, "SEEK_FROM", 0)
    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    plain = list(AccessKey.objects.order_by("account__name", "user__name", "created_at", "pk")
                 .values_list("access_key_id", flat=True))
    client.force_login(people["security"])

    pages = [client.get(reverse("inventory"), {"sort": "account", "page": n})
             for n in (1, 2, 3)]

    assert [k.access_key_id for p in pages for k, _card in p.context["rows"]] == plain
    assert len(plain) == 117 and len(pages[0].context["rows"]) == PAGE_SIZE
    assert [p.context["page"].has_next() for p in pages] == [True, True, False]
    assert all(p.context["page"].paginator.capped for p in pages)
