"""``bulk_write.update_columns``: the evaluation's hand-written ``UPDATE … FROM (VALUES …)``.

It relies on how Postgres types a VALUES list (each parameter cast to its column's type,
NULL included), so it is tested against committed rows, outside the test transaction.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.bulk_write import update_columns
from governance.models import AccessKey
from tests.factories import AccessKeyFactory, PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARY = ["owner", "owner_gap", "compliance", "open_codes", "evaluated_at"]


def test_the_named_columns_of_the_given_rows_are_written_and_nothing_else():
    owner = PersonFactory()
    written, untouched = AccessKeyFactory(), AccessKeyFactory()
    before = AccessKey.objects.get(pk=untouched.pk)
    when = timezone.now() - timedelta(hours=3)
    hostile = "tag owner names 'o''brien'); DROP TABLE governance_accesskey; --, who is \u00e9"

    matched = update_columns(AccessKey, [AccessKey(
        id=written.pk, owner_id=owner.pk, owner_gap=hostile, compliance="non_compliant",
        open_codes="NO_PURPOSE;ROTATION_OVERDUE", evaluated_at=when,
        status="Inactive")], SUMMARY)  # status is not among the columns: not written

    assert matched == 1
    row = AccessKey.objects.get(pk=written.pk)
    assert (row.owner_id, row.owner_gap, row.compliance, row.open_codes, row.evaluated_at) == (
        owner.pk, hostile, "non_compliant", "NO_PURPOSE;ROTATION_OVERDUE", when)
    assert row.status == written.status == "Active"
    after = AccessKey.objects.get(pk=untouched.pk)
    assert [getattr(after, f.attname) for f in AccessKey._meta.concrete_fields] == [
        getattr(before, f.attname) for f in AccessKey._meta.concrete_fields]


def test_none_writes_null_into_foreign_keys_and_dates():
    key = AccessKeyFactory(owner=PersonFactory(email="tagged@example.com"), evaluated=True)
    assert key.owner_id is not None and key.evaluated_at is not None

    update_columns(AccessKey, [AccessKey(id=key.pk, owner_id=None, evaluated_at=None)],
                   ["owner", "evaluated_at"])

    key.refresh_from_db()
    assert key.owner_id is None and key.evaluated_at is None


def test_one_statement_per_batch_and_none_for_no_rows():
    keys = [AccessKeyFactory() for _ in range(5)]
    rows = [AccessKey(id=k.pk, open_codes=f"CODE{n}") for n, k in enumerate(keys)]

    with CaptureQueriesContext(connection) as nothing:
        assert update_columns(AccessKey, [], ["open_codes"]) == 0
    with CaptureQueriesContext(connection) as batches:
        assert update_columns(AccessKey, rows, ["open_codes"], batch_size=2) == 5

    assert len(nothing.captured_queries) == 0
    assert len(batches.captured_queries) == 3
    assert all(q["sql"].startswith('UPDATE "governance_accesskey" AS t SET')
               for q in batches.captured_queries)
    assert dict(AccessKey.objects.values_list("pk", "open_codes")) == {
        k.pk: f"CODE{n}" for n, k in enumerate(keys)}


def test_it_writes_what_djangos_bulk_update_would():
    owner = PersonFactory()
    when = timezone.now()
    first, second = AccessKeyFactory(), AccessKeyFactory()

    def values(key):
        return {"owner_id": owner.pk, "owner_gap": "", "compliance": "excepted",
                "open_codes": "", "evaluated_at": when, "id": key.pk}

    update_columns(AccessKey, [AccessKey(**values(first))], SUMMARY)
    AccessKey.objects.bulk_update([AccessKey(**values(second))], SUMMARY)

    mine, django = (AccessKey.objects.values(*[f.attname for f in (
        AccessKey._meta.get_field(name) for name in SUMMARY)]).get(pk=k.pk)
        for k in (first, second))
    assert mine == django
