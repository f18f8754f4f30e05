"""Keys AWS found in public lead the overview of whoever can see them, and their own page."""

import re

import pytest
from django.urls import reverse

from governance.evaluation import evaluate_keys
from governance.models import Finding
from tests.factories import AccessKeyFactory, IamUserFactory, personas

pytestmark = pytest.mark.django_db

QUARANTINED = [{"source": "user-attached", "name": "AWSCompromisedKeyQuarantineV2",
                "arn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2", "group": "",
                "digest": ""}]
BLOCK = re.compile(r'<article class="message error" role="alert" data-testid="exposed-keys">'
                   r"(.*?)</article>", re.DOTALL)


@pytest.fixture
def world():
    """The owner's exposed key and a plain key, another owner's exposed key; evaluated."""
    people = personas()
    mine = AccessKeyFactory(user=IamUserFactory(name="svc-leaky",
                                                tags={"owner": "owner@example.com"},
                                                policies=QUARANTINED))
    plain = AccessKeyFactory(user=IamUserFactory(tags={"owner": "owner@example.com"}))
    theirs = AccessKeyFactory(user=IamUserFactory(name="svc-other-leak",
                                                  tags={"owner": "other@example.com"},
                                                  policies=QUARANTINED))
    evaluate_keys()
    return people, mine, plain, theirs


def exposed_block(client, person) -> str:
    client.force_login(person)
    response = client.get(reverse("overview"))
    assert response.status_code == 200
    found = BLOCK.search(response.content.decode())
    return found.group(1) if found else ""


def key_link(key) -> str:
    return f'href="{reverse("key-detail", args=[key.pk])}"'


@pytest.mark.parametrize(("persona", "sees"), [
    ("security", {"mine", "theirs"}),
    ("manager", {"mine"}),  # the owner's manager: their report's key only
    ("owner", {"mine"}),
    ("other_owner", {"theirs"}),
    ("no_manager", set()),
])
def test_the_overview_leads_with_the_exposed_keys_the_person_can_see(client, world, persona,
                                                                     sees):
    people, mine, plain, theirs = world
    block = exposed_block(client, people[persona])
    shown = {name for name, key in (("mine", mine), ("theirs", theirs)) if key_link(key) in block}
    assert shown == sees
    assert key_link(plain) not in block
    if sees:
        assert "Replace each one now and deactivate it" in block
    else:
        assert block == ""


def test_the_exposed_block_says_since_when_and_comes_before_the_tiles(client, world):
    people, mine, _plain, _theirs = world
    opened = Finding.objects.get(key=mine, code="KEY_EXPOSED").opened_at
    client.force_login(people["owner"])
    page = client.get(reverse("overview")).content.decode()
    block = BLOCK.search(page).group(1)
    assert f"{mine.access_key_id}</a> — svc-leaky in {mine.account.name}" in block
    assert f"since {opened:%Y-%m-%d}" in block and "AWS found this key in public" in block
    assert page.index('data-testid="exposed-keys"') < page.index('class="tiles"')


def test_an_exposed_keys_page_opens_with_what_aws_found_and_what_to_do(client, world):
    people, mine, plain, _theirs = world
    opened = Finding.objects.get(key=mine, code="KEY_EXPOSED").opened_at
    client.force_login(people["owner"])

    page = client.get(reverse("key-detail", args=[mine.pk])).content.decode()
    other = client.get(reverse("key-detail", args=[plain.pk])).content.decode()

    main = page[page.index("<main"):page.index("</main>")]
    text_lines = [line.strip() for line in re.sub(r"<[^>]+>", "\n", main).splitlines()]
    assert [line for line in text_lines if line][0] == (
        f"AWS found this key in public on {opened:%Y-%m-%d}: replace it and deactivate it.")
    assert 'data-testid="key-exposed"' not in other
    assert "Deactivate it here" not in page  # the incident response is the security team's


def test_the_security_team_is_pointed_at_deactivation(client, world):
    people, mine, _plain, _theirs = world
    client.force_login(people["security"])

    page = client.get(reverse("key-detail", args=[mine.pk])).content.decode()

    assert '<a href="#incident-response">Deactivate it here</a>' in page
    assert 'id="incident-response"' in page


def test_the_exception_form_names_key_exposed_as_never_waived(client, world):
    people, mine, _plain, _theirs = world
    client.force_login(people["owner"])

    page = client.get(reverse("exception-new", args=[mine.pk]) + "?code=KEY_EXPOSED")

    text = page.content.decode()
    assert "KEY_EXPOSED is not an open, waivable finding of this key" in text
    assert 'value="KEY_EXPOSED"' not in text  # never offered as a choice
    assert ("<code>ROOT_KEY</code>, <code>KEY_EXPOSED</code>, <code>NO_OWNER</code> and "
            "<code>NO_PURPOSE</code> are fixed, never waived.") in text
