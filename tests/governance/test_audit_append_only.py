"""The audit log cannot be changed or deleted, even by code that tries (database trigger)."""

import pytest
from django.db import DatabaseError, transaction

from core.audit import audit
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_events_cannot_be_updated_or_deleted():
    event = audit(actor=None, action="test.write", object_type="X", object_id="1",
                  summary="original")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.get(pk=event.pk).summary == "original"


def test_appending_still_works():
    audit(actor=None, action="test.write", object_type="X", object_id="1", summary="a")
    audit(actor=None, action="test.write", object_type="X", object_id="2", summary="b")
    assert AuditEvent.objects.filter(action="test.write").count() == 2
