"""Pages that close loops: the gaps page's assign-many and nudge, the queue of keys of people
who left, My team's numbers (each against the list it links to) and the decision page."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AuditEvent, ExceptionRequest
from governance.services.exceptions import exception_request
from tests.factories import NOW, AccessKeyFactory

pytestmark = pytest.mark.django_db


def _evaluate():
    evaluate_keys(keys=AccessKey.objects.all())


def _unowned(n):
    keys = [AccessKeyFactory() for _ in range(n)]
    _evaluate()
    return keys


# -- gaps: one table, assign many, nudge -------------------------------------------------

def test_the_gaps_page_is_one_table_with_a_tick_per_key(client, people):
    keys = _unowned(3)
    client.force_login(people["security"])
    page = client.get(reverse("ownership-gaps")).content.decode()
    assert page.count('data-testid="gaps-table"') == 1
    for key in keys:
        assert f'name="keys" value="{key.pk}"' in page
    assert 'list="gap-people"' in page and '<option value="owner@example.com">' in page


def test_assign_many_names_one_owner_in_one_action_with_an_event_per_key(client, people):
    first, second, untouched = _unowned(3)
    client.force_login(people["security"])
    response = client.post(reverse("ownership-gaps-assign"), {
        "owner": "OWNER@example.com", "keys": [first.pk, second.pk],
        "next": reverse("ownership-gaps")})
    assert response.status_code == 302
    owners = dict(AccessKey.objects.values_list("pk", "owner__email"))
    assert owners[first.pk] == owners[second.pk] == "owner@example.com"
    assert owners[untouched.pk] is None
    events = AuditEvent.objects.filter(action="key.assign_owner")
    assert sorted(int(e.object_id) for e in events) == sorted([first.pk, second.pk])
    assert {e.actor_label for e in events} == {"sec@example.com"}
    page = client.get(reverse("ownership-gaps")).content.decode()
    assert "owner@example.com now owns 2 keys." in page


def test_assign_many_refuses_an_unknown_owner_and_changes_nothing(client, people):
    first, second = _unowned(2)
    client.force_login(people["security"])
    client.post(reverse("ownership-gaps-assign"),
                {"owner": "gone@example.com", "keys": [first.pk, second.pk]})
    assert not AccessKey.objects.filter(assigned_owner__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="key.assign_owner").exists()


def test_managers_cannot_assign_many(client, people):
    [key] = _unowned(1)
    client.force_login(people["manager"])
    response = client.post(reverse("ownership-gaps-assign"),
                           {"owner": "owner@example.com", "keys": [key.pk]})
    assert response.status_code == 403
    assert AccessKey.objects.get(pk=key.pk).assigned_owner is None


def test_nudge_owner_from_the_gaps_page_mails_now_and_only_once_a_day(
        client, people, django_capture_on_commit_callbacks):
    key = AccessKeyFactory(owner=people["owner"])  # owned by tag, no purpose: NO_PURPOSE
    _evaluate()
    client.force_login(people["manager"])
    page = client.get(reverse("ownership-gaps")).content.decode()
    assert reverse("key-nudge-owner", args=[key.pk]) in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("key-nudge-owner", args=[key.pk]))
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    response = client.post(reverse("key-nudge-owner", args=[key.pk]), follow=True)
    assert "the next reminder can go after" in response.content.decode()
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="key.nudge_owner").count() == 1


# -- keys of people who left -------------------------------------------------------------

@pytest.fixture
def left_behind(people):
    """Keys the leaver (gone@, who reported to boss@) left: by tag, by assignment, and one
    whose stored owner is still the leaver (not re-evaluated since they left)."""
    tagged = AccessKeyFactory(owner="Gone@Example.com ")
    assigned = AccessKeyFactory()
    AccessKey.objects.filter(pk=assigned.pk).update(assigned_owner=people["leaver"])
    _evaluate()
    stale = AccessKeyFactory()
    AccessKey.objects.filter(pk=stale.pk).update(owner=people["leaver"])
    AccessKeyFactory(owner=people["owner"], evaluated=True)  # an active owner's: not listed
    return [tagged, assigned, stale]


def test_the_leavers_manager_sees_their_keys_and_who_left_them(client, people, left_behind):
    client.force_login(people["manager"])
    page = client.get(reverse("leaver-keys")).content.decode()
    assert "3 keys left behind" in page
    for key in left_behind:
        assert key.access_key_id in page
    assert page.count("gone@example.com") >= 3
    client.force_login(people["other_manager"])
    assert "0 keys left behind" in client.get(reverse("leaver-keys")).content.decode()
    client.force_login(people["security"])
    assert "3 keys left behind" in client.get(reverse("leaver-keys")).content.decode()


def test_the_manager_reassigns_a_leavers_key_and_the_history_keeps_who_had_it(
        client, people, left_behind):
    tagged = left_behind[0]
    client.force_login(people["manager"])
    response = client.post(reverse("leaver-key-reassign", args=[tagged.pk]),
                           {"owner": "owner@example.com"}, follow=True)
    assert "owner@example.com now owns" in response.content.decode()
    tagged.refresh_from_db()
    assert tagged.owner == people["owner"] and tagged.assigned_owner == people["owner"]
    event = AuditEvent.objects.get(action="key.assign_owner", object_id=str(tagged.pk))
    assert event.actor_label == "boss@example.com"
    assert "gone@example.com" in event.before["owner_gap"]
    assert tagged.access_key_id not in client.get(reverse("leaver-keys")).content.decode()
    # The new owner's manager is boss@ too, so the key stays in boss@'s sight.
    assert client.get(reverse("key-detail", args=[tagged.pk])).status_code == 200


def test_no_one_else_reassigns_a_leavers_key(client, people, left_behind):
    tagged = left_behind[0]
    client.force_login(people["other_manager"])
    response = client.post(reverse("leaver-key-reassign", args=[tagged.pk]),
                           {"owner": "other@example.com"})
    assert response.status_code == 404
    client.force_login(people["owner"])
    response = client.post(reverse("leaver-key-reassign", args=[tagged.pk]),
                           {"owner": "owner@example.com"})
    assert response.status_code == 403
    assert AccessKey.objects.get(pk=tagged.pk).assigned_owner is None


# -- my team -----------------------------------------------------------------------------

COUNTS = {  # what the target list says its count is
    "keys": re.compile(r'data-testid="key-count">(\d+)'),
    "overdue": re.compile(r'data-testid="key-count">(\d+)'),
    "pending-exceptions": re.compile(r'data-testid="exception-count">(\d+)'),
    "findings": re.compile(r'data-testid="finding-count">(\d+)'),
}
LINK = re.compile(r'<a href="([^"]+)" data-testid="([a-z-]+)"[^>]*>(\d+)</a>')


@pytest.fixture
def team(people):
    owner = people["owner"]
    AccessKeyFactory(owner=owner, created_at=NOW - timedelta(days=200))  # overdue: high
    overdue = AccessKeyFactory(owner=owner, created_at=NOW - timedelta(days=150))
    AccessKeyFactory(owner=owner, last_used_at=NOW - timedelta(days=60))  # unused: medium
    AccessKeyFactory(owner=people["other_owner"])  # not boss@'s report
    _evaluate()
    exception_request(actor=owner, key=AccessKey.objects.get(pk=overdue.pk),
                      code="ROTATION_OVERDUE", justification="freeze",
                      expires_on=timezone.localdate() + timedelta(days=10))
    return people


def test_my_team_lists_direct_reports_only(client, team):
    client.force_login(team["manager"])
    page = client.get(reverse("my-team")).content.decode()
    assert 'data-person="owner@example.com"' in page
    assert "other@example.com" not in page and 'data-person="gone@example.com"' not in page


def test_every_my_team_number_opens_a_list_of_exactly_that_many(client, team):
    client.force_login(team["manager"])
    page = client.get(reverse("my-team")).content.decode()
    row = page[page.index('data-person="owner@example.com"'):]
    row = row[:row.index("</tr>")]
    links = LINK.findall(row.replace("&amp;", "&"))
    assert {name for _, name, _ in links} >= {"keys", "overdue", "pending-exceptions",
                                              "findings-high", "findings-medium"}
    shown = {name: int(n) for _, name, n in links}
    assert shown["keys"] == 3 and shown["overdue"] == 2 and shown["pending-exceptions"] == 1
    assert shown["findings-high"] == 2  # two overdue keys (a request excepts nothing)
    assert shown["findings-medium"] >= 4  # three without a purpose, one unused
    for url, name, number in links:
        target = client.get(url)
        assert target.status_code == 200, url
        pattern = COUNTS["findings" if name.startswith("findings") else name]
        assert int(pattern.search(target.content.decode()).group(1)) == int(number), (name, url)


def test_a_report_of_someone_else_has_no_findings_page(client, team):
    client.force_login(team["manager"])
    other = team["other_owner"]
    assert client.get(reverse("team-findings", args=[other.pk])).status_code == 404


# -- the decision page -------------------------------------------------------------------

def test_the_decision_page_shows_the_key_beside_two_separate_forms(client, team):
    exception = ExceptionRequest.objects.get()
    client.force_login(team["manager"])
    page = client.get(reverse("exception-detail", args=[exception.pk])).content.decode()
    context = page[page.index('data-testid="key-context"'):page.index('data-testid="decision"')]
    assert 'data-testid="permissions"' in context and "UNUSED" not in context
    assert (NOW - timedelta(days=1)).date().isoformat() in context  # last used, ISO date
    assert "NO_PURPOSE" in context  # the key's other open findings
    assert exception.expires_on.isoformat() in page
    assert page.count('data-testid="approve-form"') == 1
    assert page.count('data-testid="reject-form"') == 1
    approve = page[page.index('data-testid="approve-form"'):]
    approve = approve[:approve.index("</form>")]
    assert 'value="reject"' not in approve


def test_rejecting_without_a_reason_changes_nothing(client, team):
    exception = ExceptionRequest.objects.get()
    client.force_login(team["manager"])
    response = client.post(reverse("exception-detail", args=[exception.pk]),
                           {"action": "reject", "note": " "})
    assert response.status_code == 400
    exception.refresh_from_db()
    assert exception.status == ExceptionRequest.Status.REQUESTED


def test_the_loop_actions_send_anonymous_people_to_sign_in(client, people):
    [key] = _unowned(1)
    for url in (reverse("ownership-gaps-assign"), reverse("key-nudge-owner", args=[key.pk]),
                reverse("leaver-key-reassign", args=[key.pk])):
        response = client.post(url, {"owner": "owner@example.com", "keys": [key.pk]})
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url
    assert not AuditEvent.objects.exists()
