"""What the trail read keeps per source address for UNEXPECTED_SOURCE (its actions, the VPC
endpoint its calls came through), and that a read re-evaluates the keys it saw."""

import pytest

from evidence.models import KeyUsageAddress
from evidence.usage import MAX_ADDRESS_ACTIONS, OTHER
from governance.models import Finding
from tests.evidence.conftest import KEY_1, KEY_2, at, event, read_trail
from tests.evidence.usage_helpers import declare
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db
ENDPOINT = "vpce-0123456789abcdef0"


def address(key: str, ip: str) -> KeyUsageAddress:
    return KeyUsageAddress.objects.get(access_key_id=key, address=ip)


def test_each_address_keeps_its_own_actions(trail):
    trail.put([
        event(when=at(0, 9, 1), source_ip="203.0.113.10", event_name="GetObject"),
        event(when=at(0, 9, 2), source_ip="203.0.113.10", event_name="GetObject"),
        event(when=at(0, 9, 3), source_ip="198.51.100.7", event_source="iam.amazonaws.com",
              event_name="CreateUser"),
    ])
    trail.put([event(when=at(0, 11), source_ip="203.0.113.10", event_name="PutObject")],
              when=at(0, 11, 5))

    assert read_trail()[1] == 0

    assert address(KEY_1, "203.0.113.10").actions == {"s3:GetObject": 2, "s3:PutObject": 1}
    assert address(KEY_1, "198.51.100.7").actions == {"iam:CreateUser": 1}


def test_an_address_keeps_a_bounded_number_of_actions(trail):
    names = [f"Action{n:03d}" for n in range(MAX_ADDRESS_ACTIONS + 5)]
    trail.put([event(when=at(0, 9), event_name=name) for name in names])

    read_trail()

    actions = address(KEY_1, "203.0.113.10").actions
    assert len(actions) == MAX_ADDRESS_ACTIONS + 1  # the first 25, then the rest as one
    assert actions[OTHER] == 5
    assert sum(actions.values()) == len(names)


def test_the_endpoint_is_kept_only_while_every_call_came_through_it(trail):
    trail.put([event(when=at(0, 9), source_ip="10.0.4.7", vpc_endpoint_id=ENDPOINT),
               event(KEY_2, when=at(0, 9), source_ip="10.0.4.8", vpc_endpoint_id=ENDPOINT)])
    read_trail()
    assert address(KEY_1, "10.0.4.7").vpc_endpoint_id == ENDPOINT

    # A later file: KEY_1's address through the same endpoint, KEY_2's without one.
    trail.put([event(when=at(0, 12), source_ip="10.0.4.7", vpc_endpoint_id=ENDPOINT),
               event(KEY_2, when=at(0, 12), source_ip="10.0.4.8")], when=at(0, 12, 5))
    read_trail()

    assert address(KEY_1, "10.0.4.7").vpc_endpoint_id == ENDPOINT
    assert address(KEY_2, "10.0.4.8").vpc_endpoint_id == ""
    assert address(KEY_2, "10.0.4.8").events == 2


def test_mixed_calls_within_one_file_keep_no_endpoint(trail):
    trail.put([event(when=at(0, 9), source_ip="10.0.4.7", vpc_endpoint_id=ENDPOINT),
               event(when=at(0, 10), source_ip="10.0.4.7")])
    read_trail()
    assert address(KEY_1, "10.0.4.7").vpc_endpoint_id == ""


def test_a_read_opens_unexpected_source_on_a_key_that_declares_sources(trail):
    key = AccessKeyFactory(access_key_id=KEY_1, owner="owner@example.com")
    declare(key, "203.0.113.0/24", ENDPOINT)
    trail.put([
        event(when=at(0, 9), source_ip="203.0.113.10"),
        event(when=at(0, 9, 5), source_ip="10.0.4.7", vpc_endpoint_id=ENDPOINT),
        event(when=at(0, 9, 30), source_ip="198.51.100.7", event_source="iam.amazonaws.com",
              event_name="CreateAccessKey"),
    ])

    out, code = read_trail()

    assert code == 0, out
    finding = Finding.objects.get(key=key, code="UNEXPECTED_SOURCE", resolved_at__isnull=True)
    assert "used from 1 undeclared address" in finding.reason
    assert "198.51.100.7 first seen" in finding.reason
    assert "(iam:CreateAccessKey 1)" in finding.reason
    assert "10.0.4.7" not in finding.reason and "203.0.113.10" not in finding.reason


def test_a_reevaluation_that_loses_a_race_to_a_sync_tries_once_more(monkeypatch, caplog):
    from django.db import IntegrityError

    from evidence import reading
    from tests.evidence.usage_helpers import day_ago, seen_from

    key = AccessKeyFactory(owner="owner@example.com")
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(0), "198.51.100.7")
    real, calls = reading._reevaluate, []

    def conflicting_once(ids):
        calls.append(ids)
        if len(calls) == 1:
            raise IntegrityError('duplicate key value violates "one_open_finding_per_key_code"')
        return real(ids)

    monkeypatch.setattr(reading, "_reevaluate", conflicting_once)
    assert reading.reevaluate_evidence_keys({key.access_key_id}) == 1
    assert len(calls) == 2
    assert Finding.objects.filter(key=key, code="UNEXPECTED_SOURCE").exists()

    def always_conflicting(ids):
        raise IntegrityError("duplicate key value")

    monkeypatch.setattr(reading, "_reevaluate", always_conflicting)
    assert reading.reevaluate_evidence_keys({key.access_key_id}) == 0
    assert "re-evaluation after a trail read lost to a sync" in caplog.text
