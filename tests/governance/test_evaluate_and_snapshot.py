"""``evaluate``, the daily snapshot and the export's governance columns."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance.models import DailySnapshot
from governance.trends import snapshot_take
from tests.factories import NOW, AccessKeyFactory, IamUserFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys():
    PersonFactory(email="owner@example.com")
    owned = IamUserFactory(tags={"owner": "owner@example.com"})
    old = AccessKeyFactory(user=owned, created_at=NOW - timedelta(days=200))
    orphan = AccessKeyFactory(user=IamUserFactory(account=owned.account, password_enabled=True))
    return old, orphan


def test_evaluate_prints_open_findings_per_code(keys):
    out = io.StringIO()
    call_command("evaluate", stdout=out)
    text = out.getvalue()
    assert "2 keys evaluated" in text
    counts = {line.split()[0]: int(line.split()[1]) for line in text.splitlines()[1:]}
    assert counts["ROTATION_OVERDUE"] == 1 and counts["NO_OWNER"] == 1
    assert counts["NO_PURPOSE"] == 2 and counts["HUMAN_USER_KEY"] == 1
    assert counts["ROOT_KEY"] == 0 and counts["KEY_EXPOSED"] == 0 and len(counts) == 14


def test_export_carries_owner_findings_and_compliance(keys):
    call_command("evaluate", stdout=io.StringIO())
    out = io.StringIO()
    call_command("export_keys", stdout=out)
    rows = {r["access_key_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    old, orphan = keys
    assert rows[old.access_key_id]["owner_email"] == "owner@example.com"
    assert rows[old.access_key_id]["findings"].split(";") == sorted(
        rows[old.access_key_id]["findings"].split(";"))
    assert "ROTATION_OVERDUE" in rows[old.access_key_id]["findings"]
    assert rows[orphan.access_key_id]["owner_email"] == ""
    assert {r["compliance"] for r in rows.values()} == {"non_compliant"}


def test_snapshot_counts_per_account_and_is_replaced_not_duplicated(keys):
    call_command("evaluate", stdout=io.StringIO())
    today = timezone.localdate()
    snapshot_take(day=today)
    snapshot_take(day=today)
    rows = {(s.dimension, s.name): s.count for s in DailySnapshot.objects.filter(day=today)}
    assert rows[("keys", "active")] == 2
    assert rows[("compliance", "non_compliant")] == 2
    assert rows[("code", "NO_PURPOSE")] == 2
    assert rows[("element", "purpose")] == 2 and rows[("element", "updates")] == 1
    assert DailySnapshot.objects.filter(day=today, dimension="keys").count() == 1


def test_snapshots_are_kept_for_the_retention_then_pruned(keys, settings):
    account = keys[0].account
    today = timezone.localdate()
    keep = today - timedelta(days=400)
    gone = today - timedelta(days=settings.KEYLEDGER_SNAPSHOT_RETENTION_DAYS + 1)
    for day in (keep, gone):
        DailySnapshot.objects.create(day=day, account=account, dimension="keys", name="active",
                                     count=1)
    snapshot_take(day=today)
    assert DailySnapshot.objects.filter(day=keep).exists()
    assert not DailySnapshot.objects.filter(day=gone).exists()
