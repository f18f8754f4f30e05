"""The Django admin changes AWS accounts only through the audited services (issue 12, item 3).

How an account is read (its role and external id) and whether it is synced decide what
Keyledger sees: each change made on the real admin pages leaves exactly one audit event.
"""

import hashlib

import pytest
from django.urls import reverse

from governance.models import AuditEvent, AwsAccount
from tests.accounts.admin_forms import admin_change
from tests.factories import AccountFactory, PersonFactory

pytestmark = pytest.mark.django_db
ROLE = "arn:aws:iam::111122223333:role/KeyledgerReader"


@pytest.fixture
def admin_client(client):
    client.force_login(PersonFactory(email="admin@example.com", is_staff=True,
                                     is_superuser=True))
    return client


@pytest.fixture
def account():
    return AccountFactory(account_id="111122223333", name="prod", role_arn=ROLE,
                          external_id="old-external-id")


def external_id_fingerprint(external_id: str) -> str:
    """What the audit log keeps of an external id: a short digest, not the value."""
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()[:12]


def events_about(account):
    return [(e.actor_label, e.action, e.before, e.after)
            for e in AuditEvent.objects.filter(object_type="AwsAccount",
                                               object_id=str(account.pk)).order_by("id")]


def test_changing_the_role_and_external_id_is_audited(admin_client, account):
    other_role = "arn:aws:iam::111122223333:role/SomethingElse"
    response = admin_change(admin_client, account, role_arn=other_role,
                            external_id="new-external-id")

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.role_arn, account.external_id) == (other_role, "new-external-id")
    assert events_about(account) == [(
        "admin@example.com", "account.update",
        {"role_arn": ROLE, "external_id": external_id_fingerprint("old-external-id")},
        {"role_arn": other_role, "external_id": external_id_fingerprint("new-external-id")})]
    recorded = " ".join(str(v) for v in AuditEvent.objects.values().get().values())
    assert "old-external-id" not in recorded and "new-external-id" not in recorded


def test_disabling_is_audited_as_on_the_accounts_page(admin_client, account):
    assert admin_change(admin_client, account, enabled=None).status_code == 302
    assert not AwsAccount.objects.get(pk=account.pk).enabled
    assert events_about(account) == [
        ("admin@example.com", "account.disable", {"enabled": True}, {"enabled": False})]

    assert admin_change(admin_client, account, enabled="on", name="production").status_code == 302
    assert events_about(account)[1:] == [
        ("admin@example.com", "account.update", {"name": "prod"}, {"name": "production"}),
        ("admin@example.com", "account.enable", {"enabled": False}, {"enabled": True})]


def test_saving_without_a_change_writes_no_event(admin_client, account):
    assert admin_change(admin_client, account).status_code == 302
    assert events_about(account) == []


def test_a_bad_role_arn_is_refused_on_the_form(admin_client, account):
    response = admin_change(admin_client, account, role_arn="not-an-arn")
    assert response.status_code == 200 and "role_arn" in response.context["adminform"].form.errors
    assert AwsAccount.objects.get(pk=account.pk).role_arn == ROLE
    assert events_about(account) == []


def test_the_account_id_cannot_be_changed(admin_client, account):
    assert admin_change(admin_client, account, account_id="999988887777").status_code == 302
    assert AwsAccount.objects.get(pk=account.pk).account_id == "111122223333"


def test_adding_an_account_is_audited(admin_client):
    response = admin_client.post(reverse("admin:governance_awsaccount_add"), {
        "account_id": "444455556666", "name": "staging",
        "role_arn": "arn:aws:iam::444455556666:role/KeyledgerReader", "external_id": "x"})

    assert response.status_code == 302
    added = AwsAccount.objects.get(account_id="444455556666")
    assert events_about(added) == [("admin@example.com", "account.add", None, {
        "account_id": "444455556666", "name": "staging",
        "role_arn": "arn:aws:iam::444455556666:role/KeyledgerReader", "source": "manual"})]


def test_accounts_are_never_deleted_in_the_admin(admin_client, account):
    url = reverse("admin:governance_awsaccount_delete", args=[account.pk])
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert AwsAccount.objects.filter(pk=account.pk).exists()
