"""Every main page makes as many queries at 1,000 keys as at 10 (no query per row).

The benchmark (``bench.dashboard``) measures the pages at 100,000 keys; this guards the
part that must not regress silently: the number of queries a page makes does not grow
with the number of keys, findings, exceptions or audit events behind it.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AuditEvent, ExceptionRequest, IamUser, Registration
from governance.trends import snapshot_take
from tests.factories import NOW, AccountFactory

pytestmark = pytest.mark.django_db

# (URL name, query string, who asks); every one must answer 200 at both sizes.
PAGES = [
    ("overview", "", "security"),
    ("overview", "", "manager"),
    ("overview", "", "owner"),  # severity counts, top risks and stacked charts, live
    ("inventory", "", "security"),
    ("inventory", "finding=ROTATION_OVERDUE", "security"),
    ("inventory", "sort=-age&status=Active", "security"),
    ("inventory", "severity=high&sort=-risk", "security"),  # the risk column and order
    ("inventory", "sort=account&page=2", "security"),  # seeks by account name
    ("inventory", "q=svc&page=2", "security"),
    ("inventory", "q=akiaqc00000000000003", "security"),  # a whole key id: equality lookup
    ("inventory", "undeclared_source=true", "security"),  # usage evidence: EXISTS each
    ("inventory", "unused_in_window=true&page=2", "security"),
    ("my-keys", "", "owner"),
    ("ownership-gaps", "", "security"),
    ("rotation", "", "security"),
    ("exceptions", "", "security"),
    ("aws-accounts", "", "security"),
    ("audit-log", "", "security"),
]



QUARANTINED = [{"source": "user-attached", "name": "AWSCompromisedKeyQuarantineV2",
                "arn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2", "group": "",
                "digest": ""}]


def add_keys(n: int, people) -> None:
    """``n`` more keys owned by the owner persona, in their own account, of every age, with
    registrations, exceptions and audit events, some exposed (AWS quarantined the user),
    written in bulk and then evaluated."""
    account = AccountFactory(cloudtrail_logging=len(IamUser.objects.all()) % 2 == 0)
    start = IamUser.objects.count()
    users = IamUser.objects.bulk_create([
        IamUser(account=account, user_id=f"AIDAQC{start + i:014d}", name=f"svc-{start + i}",
                arn=f"arn:aws:iam::{account.account_id}:user/svc-{start + i}",
                tags={"owner": people["owner"].email}, password_enabled=i % 7 == 0,
                policies=QUARANTINED if i % 11 == 1 else [])
        for i in range(n)])
    keys = AccessKey.objects.bulk_create([
        AccessKey(account=account, user=user, access_key_id=f"AKIAQC{start + i:014d}",
                  status=AccessKey.Status.ACTIVE if i % 5 else AccessKey.Status.INACTIVE,
                  created_at=NOW - timedelta(days=(i * 37) % 400),
                  last_used_at=None if i % 9 == 0 else NOW - timedelta(days=i % 60))
        for i, user in enumerate(users)])
    now, today = timezone.now(), timezone.localdate()
    Registration.objects.bulk_create([
        Registration(key=key, owner=people["owner"], category="ci_cd", runs_where="CI",
                     justification="j", why_not_iam_role="r", why_not_identity_center="i",
                     why_not_sts="s", source_restriction="203.0.113.0/24",
                     rotation_procedure="p", deactivation_contact="c", registered_at=now,
                     review_due_on=today + timedelta(days=180))
        for key in keys[::3]])
    ExceptionRequest.objects.bulk_create([
        ExceptionRequest(key=key, code="UNUSED", requested_by=people["owner"],
                         justification="j", expires_on=today + timedelta(days=30),
                         requested_at=now, status="requested" if i % 2 else "approved",
                         decided_by=None if i % 2 else people["manager"],
                         decided_at=None if i % 2 else now)
        for i, key in enumerate(keys[1::4])])
    AuditEvent.objects.bulk_create([
        AuditEvent(actor=people["security"], actor_label=people["security"].email,
                   action="key.assign_owner", object_type="AccessKey", object_id=str(key.pk),
                   summary=f"assigned {key.access_key_id}", at=now)
        for key in keys])
    evaluate_keys(keys=AccessKey.objects.filter(account=account))
    snapshot_take()


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(queries.captured_queries)


def counts_at_10_and_1000(client, people, person: str, url) -> tuple[int, int]:
    """Queries for ``url()`` (a callable: some URLs name a key) at 10, then 1,000 keys."""
    client.force_login(people[person])
    add_keys(10, people)
    few = queries_for(client, url())
    add_keys(990, people)
    return few, queries_for(client, url())


@pytest.mark.parametrize(("name", "query", "person"), PAGES)
def test_page_queries_do_not_grow_with_keys(client, people, name, query, person):
    few, many = counts_at_10_and_1000(
        client, people, person, lambda: f"{reverse(name)}{'?' + query if query else ''}")
    assert few == many


def test_key_detail_queries_do_not_grow_with_findings_or_history(client, people):
    def url():  # the most recent key with an approved exception, findings and audit events
        key = ExceptionRequest.objects.filter(status="approved").order_by("-key_id").first().key
        return reverse("key-detail", args=[key.pk])

    few, many = counts_at_10_and_1000(client, people, "security", url)
    assert few == many


def test_csv_export_queries_do_not_grow_with_rows(client, people):
    few, many = counts_at_10_and_1000(
        client, people, "security", lambda: reverse("inventory-export"))
    assert few == many


def test_api_key_list_queries_do_not_grow_with_keys(client, people):
    few, many = counts_at_10_and_1000(client, people, "security", lambda: "/api/v1/keys/")
    assert few == many
