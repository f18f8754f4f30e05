"""The admin shows reduction's and the evidence's rows but changes none of them: plans move
only through the audited services, the facts and the evidence only through their reads."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import KeyUsageAddress, KeyUsageDay, TrailObject, TrailWatermark
from governance.models import AuditEvent
from reduction.models import (
    IdentityCenterAssignment,
    IdentityCenterPerson,
    MigrationPlan,
    OidcProviderListing,
)
from reduction.services import plan_open
from tests.factories import AccessKeyFactory, AccountFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(PersonFactory(email="admin@example.com", is_staff=True,
                                     is_superuser=True))
    return client


@pytest.fixture
def rows():
    """One row of every model the admin registers for reduction and evidence."""
    now, today = timezone.now(), timezone.localdate()
    owner = PersonFactory(email="jane.doe@example.com")
    key = AccessKeyFactory(owner=owner, evaluated=True)
    person = IdentityCenterPerson.objects.create(email=owner.email, user_id="u-1",
                                                 user_name="jane", read_at=now)
    IdentityCenterAssignment.objects.create(person=person, account_id="222222222222",
                                            permission_set_arn="arn:aws:sso:::ps/1",
                                            permission_set_name="Developer")
    return [
        plan_open(actor=owner, key=key, path="identity_center",
                  target_date=today + timedelta(days=30)),
        person,
        OidcProviderListing.objects.create(account=AccountFactory(), read_at=now, providers=[
            {"arn": "arn:aws:iam::1:oidc-provider/x", "url": "x", "client_ids": []}]),
        KeyUsageDay.objects.create(access_key_id=key.access_key_id, day=today, events=1),
        KeyUsageAddress.objects.create(access_key_id=key.access_key_id, day=today,
                                       address="192.0.2.1", first_seen=now, last_seen=now),
        TrailWatermark.objects.create(account_id="222222222222", region="us-east-1", day=today),
        TrailObject.objects.create(key="AWSLogs/222222222222/x.json.gz",
                                   account_id="222222222222", region="us-east-1", day=today,
                                   status=TrailObject.Status.choices[0][0]),
    ]


def url(obj, view: str, *args) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def test_every_row_is_listed_and_shown(admin_client, rows):
    for obj in rows:
        assert admin_client.get(url(obj, "changelist")).status_code == 200, obj
        page = admin_client.get(url(obj, "change", obj.pk))
        assert page.status_code == 200, obj
        assert b'name="_save"' not in page.content  # shown, not editable


def test_no_row_can_be_added_changed_or_deleted(admin_client, rows):
    plan = rows[0]
    audited = AuditEvent.objects.count()

    for obj in rows:
        assert admin_client.get(url(obj, "add")).status_code == 403, obj
        assert admin_client.post(url(obj, "delete", obj.pk), {"post": "yes"}).status_code == 403
    changed = admin_client.post(url(plan, "change", plan.pk), {
        "state": "done", "path": "iam_role", "target_date": "2020-01-01"})

    assert changed.status_code == 403
    plan.refresh_from_db()
    assert (plan.state, plan.path) == (MigrationPlan.State.PLANNED, "identity_center")
    assert MigrationPlan.objects.count() == 1 and IdentityCenterPerson.objects.count() == 1
    assert AuditEvent.objects.count() == audited
