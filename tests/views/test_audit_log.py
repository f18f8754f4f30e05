"""The audit log page: before/after as readable fields, the object as a link, a range of
days, and a CSV export of exactly the rows the filters select."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from core.audit import audit
from governance.models import AuditEvent
from governance.services.accounts import account_set_enabled
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db


def day(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}T10:00:00").replace(tzinfo=UTC)


@pytest.fixture
def events(people, register_account):
    """An account disabled (a service's before/after), a key's owner assigned in March, a
    person's change in April and one with a formula-like summary in May."""
    account = register_account("222222222222", "prod")
    account_set_enabled(actor=people["security"], account=account, enabled=False)
    key = AccessKeyFactory()
    audit(actor=people["security"], action="key.assign_owner", obj=key, at=day("2026-03-10"),
          summary=f"assigned {key.access_key_id} to owner@example.com",
          before={"owner": None}, after={"owner": "owner@example.com", "tags": ["a", "b"]})
    audit(actor=people["security"], action="person.update", obj=people["owner"],
          at=day("2026-04-02"), summary="changed manager", before={"manager": "a@example.com"},
          after={"manager": "b@example.com", "active": True})
    audit(actor=None, action="key.nudge_owner", obj=key, at=day("2026-05-20"),
          summary="=HYPERLINK(\"http://evil\")", after={"note": "+1"})
    return account, key


def test_before_and_after_are_fields_and_the_object_is_a_link(client, people, events):
    account, key = events
    client.force_login(people["security"])

    html = client.get(reverse("audit-log")).content.decode()

    assert "<dt>enabled</dt><dd><del>yes</del> → <ins>no</ins></dd>" in html
    assert "<dt>owner</dt><dd><ins>owner@example.com</ins></dd>" in html
    assert "<dt>tags</dt><dd><ins>a, b</ins></dd>" in html
    assert "<dt>manager</dt><dd><del>a@example.com</del> → <ins>b@example.com</ins></dd>" in html
    assert f'<a href="{reverse("key-detail", args=[key.pk])}">AccessKey {key.pk}</a>' in html
    assert f'href="{reverse("aws-accounts")}#account-{account.pk}">AwsAccount' in html
    assert "{&#x27;" not in html and "{'owner'" not in html  # no raw dicts any more


def test_a_range_of_days_selects_the_events_between_them(client, people, events):
    client.force_login(people["security"])

    html = client.get(reverse("audit-log"),
                      {"since": "2026-04-01", "until": "2026-05-20"}).content.decode()

    assert "person.update" in html and "key.nudge_owner" in html
    assert "key.assign_owner</code>" not in html and "account.disable</code>" not in html
    assert 'value="2026-04-01"' in html and 'value="2026-05-20"' in html
    only_march = client.get(reverse("audit-log"), {"until": "2026-03-31"}).content.decode()
    assert "key.assign_owner</code>" in only_march and "person.update</code>" not in only_march
    assert client.get(reverse("audit-log"), {"since": "yesterday"}).status_code == 400


def export(client, params: dict) -> list[dict]:
    response = client.get(reverse("audit-log-export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("params", [{}, {"since": "2026-04-01"}, {"action": "key.assign_owner"},
                                    {"q": "manager", "until": "2026-12-31"}])
def test_the_csv_export_has_the_rows_the_page_shows(client, people, events, params):
    client.force_login(people["security"])
    page = client.get(reverse("audit-log"), params).content.decode()
    shown = [int(cell.split()[0]) for cell in page.split('<small class="mono" title="')[1:]
             for cell in [cell.split(">#", 1)[1]]]

    rows = export(client, params)

    assert [int(row["id"]) for row in rows] == shown and shown
    assert list(rows[0]) == ["id", "at", "actor", "action", "object_type", "object_id",
                             "summary", "before", "after", "hash"]


def test_the_csv_export_writes_json_and_defuses_formulas(client, people, events):
    client.force_login(people["security"])

    rows = {row["action"]: row for row in export(client, {})}

    assert rows["account.disable"]["before"] == '{"enabled":true}'
    assert rows["key.assign_owner"]["at"] == "2026-03-10T10:00:00Z"
    assert rows["key.nudge_owner"]["summary"].startswith("'=HYPERLINK")
    assert rows["key.nudge_owner"]["after"] == '{"note":"+1"}'
    assert rows["key.nudge_owner"]["actor"] == "system"
    assert len(rows) == AuditEvent.objects.count()


@pytest.mark.parametrize("persona", ["owner", "manager"])
def test_only_the_security_team_exports_the_audit_log(client, people, events, persona):
    client.force_login(people[persona])
    assert client.get(reverse("audit-log-export")).status_code == 403


def test_an_export_with_bad_filters_goes_back_to_the_log_saying_so(client, people, events):
    client.force_login(people["security"])
    response = client.get(reverse("audit-log-export"), {"since": "31/12/2026"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("audit-log")
    assert "The export filters are not valid." in response.content.decode()
