"""UNEXPECTED_SOURCE from stored evidence: the evaluation reads the window's addresses in
bulk, opens the finding with the addresses in its reason, and resolves it once they are
declared; a trail read re-evaluates the keys whose evidence it added."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evidence.models import KeyUsageAddress
from evidence.reading import reevaluate_evidence_keys
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, Finding
from tests.evidence.usage_helpers import day_ago, declare, seen_from
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db
OFFICE = "203.0.113.0/24"


def open_finding(key) -> Finding | None:
    return Finding.objects.filter(key=key, code="UNEXPECTED_SOURCE",
                                  resolved_at__isnull=True).first()


def evaluate(*keys) -> None:
    evaluate_keys(keys=AccessKey.objects.filter(pk__in=[k.pk for k in keys]))


@pytest.fixture
def key():
    key = AccessKeyFactory(owner="owner@example.com")
    declare(key, OFFICE)
    return key


def test_an_undeclared_address_opens_the_finding_and_its_reason_lists_it(key):
    seen_from(key, day_ago(0), "203.0.113.10", events=40)
    row = seen_from(key, day_ago(3), "198.51.100.7", events=4)
    row.actions = {"s3:GetObject": 3, "s3:DeleteObject": 1}
    row.save()

    evaluate(key)

    finding = open_finding(key)
    assert finding is not None and finding.severity == "high"
    assert "198.51.100.7 first seen" in finding.reason
    assert "4 events (s3:GetObject 3, s3:DeleteObject 1)" in finding.reason
    assert "203.0.113.10" not in finding.reason
    key.refresh_from_db()
    assert "UNEXPECTED_SOURCE" in key.open_code_list
    assert key.compliance == "non_compliant"


def test_declaring_the_address_resolves_the_finding(key):
    seen_from(key, day_ago(1), "198.51.100.7")
    evaluate(key)
    opened = open_finding(key)
    assert opened is not None

    key.registrations.update(superseded_at=timezone.now())
    declare(key, OFFICE, "198.51.100.0/24")
    evaluate(key)

    opened.refresh_from_db()
    assert opened.resolved_at is not None
    assert open_finding(key) is None


def test_evidence_outside_the_window_counts_for_nothing(key, settings):
    settings.KEYLEDGER_EVIDENCE_DAYS = 7
    seen_from(key, day_ago(7), "198.51.100.7")
    evaluate(key)
    assert open_finding(key) is None

    seen_from(key, day_ago(6), "198.51.100.8")
    evaluate(key)
    assert "198.51.100.8" in open_finding(key).reason
    assert "198.51.100.7" not in open_finding(key).reason


def test_no_declared_sources_and_aws_services_raise_nothing():
    undeclared = AccessKeyFactory()
    seen_from(undeclared, day_ago(0), "198.51.100.7")
    service = AccessKeyFactory()
    declare(service, OFFICE)
    seen_from(service, day_ago(0), "s3.amazonaws.com", via_aws_service=True)
    seen_from(service, day_ago(0), "198.51.100.9", via_aws_service=True)

    evaluate(undeclared, service)

    assert open_finding(undeclared) is None and open_finding(service) is None


def test_an_inactive_key_raises_nothing(key):
    AccessKey.objects.filter(pk=key.pk).update(status=AccessKey.Status.INACTIVE)
    seen_from(key, day_ago(0), "198.51.100.7")
    evaluate(key)
    assert open_finding(key) is None


def test_a_declared_endpoint_covers_the_calls_made_through_it(key):
    key.registrations.update(declared_sources=["vpce-0123456789abcdef0"])
    KeyUsageAddress.objects.create(
        access_key_id=key.access_key_id, day=day_ago(0), address="10.0.4.7", events=3,
        first_seen=timezone.now(), last_seen=timezone.now(),
        vpc_endpoint_id="vpce-0123456789abcdef0")
    evaluate(key)
    assert open_finding(key) is None


def test_the_evaluation_reads_the_evidence_in_a_fixed_number_of_queries():
    def queries(n: int) -> int:
        keys = []
        for i in range(n):
            key = AccessKeyFactory(owner="owner@example.com")
            declare(key, OFFICE)
            seen_from(key, day_ago(i % 5), f"198.51.100.{i + 1}")
            seen_from(key, day_ago(0), "203.0.113.5")
            keys.append(key)
        with CaptureQueriesContext(connection) as captured:
            evaluate(*keys)
        assert all(open_finding(k) is not None for k in keys)
        Finding.objects.all().delete()
        return len(captured.captured_queries)

    assert queries(3) == queries(12)


def test_re_evaluation_after_a_read_covers_only_keys_that_declare_sources(key):
    silent = AccessKeyFactory()
    seen_from(key, day_ago(0), "198.51.100.7")
    seen_from(silent, day_ago(0), "198.51.100.7")
    superseded = AccessKeyFactory()
    declare(superseded, OFFICE)
    superseded.registrations.update(superseded_at=timezone.now())
    declare(superseded)  # the current registration declares nothing
    seen_from(superseded, day_ago(0), "198.51.100.7")

    done = reevaluate_evidence_keys({key.access_key_id, silent.access_key_id,
                                     superseded.access_key_id, "AKIANOTINTHEINVENTORY"})

    assert done == 1
    assert open_finding(key) is not None
    assert not Finding.objects.filter(key__in=[silent, superseded]).exists()


def test_old_finding_reason_refreshes_as_evidence_grows(key):
    seen_from(key, day_ago(2), "198.51.100.7", events=1)
    evaluate(key)
    first = open_finding(key)
    seen_from(key, day_ago(1), "198.51.100.7", events=5)
    evaluate(key)
    again = open_finding(key)
    assert again.pk == first.pk and "6 events" in again.reason
    assert again.opened_at == first.opened_at
    assert timezone.now() - again.opened_at < timedelta(minutes=5)
