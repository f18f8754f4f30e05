"""The API's ``way_out`` on a key (DESIGN.md public interfaces) and ``/api/v1/plans/``."""

from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from reduction.models import MigrationPlan
from reduction.services import plan_open
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def api():
    return APIClient()


def test_the_key_detail_carries_its_way_out_and_plan(api, people):
    key = AccessKeyFactory(owner=people["owner"], user__password_enabled=True, evaluated=True)
    api.force_authenticate(people["owner"])
    before = api.get(f"/api/v1/keys/{key.pk}/").json()["way_out"]
    plan_open(actor=people["owner"], key=key, path="identity_center", target_date=in_days(12))
    after = api.get(f"/api/v1/keys/{key.pk}/").json()["way_out"]

    assert before["path"] == "identity_center" and before["plan"] is None
    assert before["evidence"][0] == ("The key belongs to a person (the user also signs in to "
                                     "the console).")
    assert after["plan"] == {"state": "planned", "target_date": in_days(12).isoformat()}
    assert set(after) == {"path", "evidence", "plan"}


def test_the_schema_documents_way_out_and_the_plans_list(api, people):
    api.force_authenticate(people["owner"])
    schema = yaml.safe_load(api.get("/api/v1/schema/").content)

    way_out = schema["components"]["schemas"]["WayOut"]
    assert set(way_out["properties"]) == {"path", "evidence", "plan"}
    assert way_out["properties"]["plan"]["nullable"] is True
    assert "way_out" in schema["components"]["schemas"]["KeyDetail"]["properties"]
    assert "/api/v1/plans/" in schema["paths"]


def test_the_plans_list_answers_by_visibility_and_filters(api, people):
    mine = AccessKeyFactory(owner=people["owner"], evaluated=True)
    theirs = AccessKeyFactory(owner=people["other_owner"], evaluated=True)
    late = plan_open(actor=people["owner"], key=mine, path="iam_role", target_date=in_days(4))
    MigrationPlan.objects.filter(pk=late.pk).update(target_date=in_days(-1))
    other = plan_open(actor=people["other_owner"], key=theirs, path="iam_role",
                      target_date=in_days(4))

    api.force_authenticate(people["owner"])
    rows = api.get("/api/v1/plans/").json()["results"]
    assert [(r["id"], r["access_key_id"], r["owner_email"]) for r in rows] == \
        [(late.pk, mine.access_key_id, "owner@example.com")]
    api.force_authenticate(people["security"])
    assert [r["id"] for r in api.get("/api/v1/plans/").json()["results"]] == [late.pk, other.pk]
    assert [r["id"] for r in api.get("/api/v1/plans/?overdue=true").json()["results"]] == \
        [late.pk]
    assert api.get("/api/v1/plans/?state=done").json()["results"] == []
    assert api.get("/api/v1/plans/?overdue_only=1").status_code == 400
    api.force_authenticate(None)
    assert api.get("/api/v1/plans/").status_code in (401, 403)
