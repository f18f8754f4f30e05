"""The usage summary a key's page and the API show: the window's evidence, summed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evidence.summary import CHART_HEIGHT, TOP_ACTIONS, key_usage, window_start
from governance.models import AccessKey
from tests.evidence.usage_helpers import (
    TODAY,
    day_ago,
    declare,
    moment,
    seen_from,
    trail_read_for,
    used,
)
from tests.factories import AccessKeyFactory, IamUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def window(settings):
    settings.KEYLEDGER_EVIDENCE_DAYS = 30
    settings.KEYLEDGER_SHARED_ADDRESSES_PER_DAY = 5
    settings.KEYLEDGER_SHARED_AGENTS_PER_DAY = 5
    settings.KEYLEDGER_TRAIL_BUCKET = "org-trail-logs"


def summary(key):
    return key_usage(key, today=TODAY)


def test_the_window_is_the_last_30_utc_days_both_ends_included():
    key = AccessKeyFactory()
    used(key, day_ago(30), events=1000)  # the day before the window
    used(key, day_ago(29), events=7)  # its first day
    used(key, TODAY, events=5)
    used(key, day_ago(-1), events=300)  # tomorrow (a clock ahead): not in this window
    seen_from(key, day_ago(30), "192.0.2.1", events=1000)
    seen_from(key, day_ago(29), "192.0.2.2", events=7)
    usage = summary(key)
    assert (usage.since, usage.until, usage.window_days) == (day_ago(29), TODAY, 30)
    assert window_start(TODAY) == day_ago(29)
    assert usage.events == 12
    assert [a.address for a in usage.addresses] == ["192.0.2.2"]


def test_every_day_of_the_window_is_in_the_series_zero_when_unused():
    key = AccessKeyFactory()
    used(key, day_ago(29), events=7, errors=2)
    used(key, day_ago(3), events=4)
    usage = summary(key)
    assert [d.day for d in usage.days] == [day_ago(n) for n in range(29, -1, -1)]
    by_day = {d.day: (d.events, d.errors) for d in usage.days}
    assert by_day[day_ago(29)] == (7, 2) and by_day[day_ago(3)] == (4, 0)
    assert sum(1 for d in usage.days if d.events == 0) == 28
    assert (usage.events, usage.errors) == (11, 2)


def test_addresses_are_judged_against_the_declared_sources_undeclared_first():
    key = AccessKeyFactory()
    declare(key, "203.0.113.0/24", "2001:db8::/32", "vpce-0123456789abcdef0")
    seen_from(key, day_ago(5), "203.0.113.7", events=50)
    seen_from(key, day_ago(5), "2001:db8::1", events=40)
    seen_from(key, day_ago(5), "198.51.100.9", events=2, first_hour=8)
    seen_from(key, day_ago(1), "198.51.100.9", events=3, last_hour=20)
    seen_from(key, day_ago(2), "192.0.2.44", events=9)
    usage = summary(key)
    assert [(a.address, a.declared) for a in usage.addresses] == [
        ("192.0.2.44", False), ("198.51.100.9", False),
        ("203.0.113.7", True), ("2001:db8::1", True)]
    outside = usage.addresses[1]
    assert (outside.first_seen, outside.last_seen, outside.events) == (
        moment(day_ago(5), 8), moment(day_ago(1), 20), 5)
    assert [a.address for a in usage.undeclared] == ["192.0.2.44", "198.51.100.9"]
    assert usage.sources_declared


def test_a_private_address_through_a_declared_endpoint_is_declared_on_that_day_only():
    key = AccessKeyFactory()
    declare(key, "vpce-0123456789abcdef0")
    seen_from(key, day_ago(3), "10.0.0.5", vpc_endpoint_id="vpce-0123456789abcdef0")
    seen_from(key, day_ago(3), "10.0.0.6", vpc_endpoint_id="vpce-0aaaaaaaaaaaaaaaa")
    assert [(a.address, a.declared) for a in summary(key).addresses] == [
        ("10.0.0.6", False), ("10.0.0.5", True)]
    seen_from(key, day_ago(2), "10.0.0.5")  # the same address, not through the endpoint
    assert [(a.address, a.declared) for a in summary(key).addresses] == [
        ("10.0.0.5", False), ("10.0.0.6", False)]


def test_aws_services_acting_for_the_key_are_never_undeclared():
    key = AccessKeyFactory()
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(1), "cloudformation.amazonaws.com", events=9, via_aws_service=True)
    seen_from(key, day_ago(1), "10.1.2.3", events=4, via_aws_service=True)  # invokedBy
    seen_from(key, day_ago(1), "AWS Internal", events=1, via_aws_service=True)
    usage = summary(key)
    assert {(a.address, a.declared, a.via_aws_service) for a in usage.addresses} == {
        ("cloudformation.amazonaws.com", None, True), ("10.1.2.3", None, True),
        ("AWS Internal", None, True)}
    assert usage.undeclared == ()


def test_nothing_declared_means_nothing_judged():
    key = AccessKeyFactory()
    seen_from(key, day_ago(1), "198.51.100.9")
    usage = summary(key)
    assert [(a.address, a.declared) for a in usage.addresses] == [("198.51.100.9", None)]
    assert not usage.sources_declared and usage.undeclared == ()


def test_a_superseded_registration_no_longer_declares():
    key = AccessKeyFactory()
    old = declare(key, "198.51.100.0/24")
    old.superseded_at = old.registered_at
    old.save()
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(1), "198.51.100.9")
    assert [a.declared for a in summary(key).addresses] == [False]


def test_declared_sources_that_no_longer_parse_declare_nothing_yet_are_judged():
    """As UNEXPECTED_SOURCE judges them: something was declared, none of it matches."""
    key = AccessKeyFactory()
    declare(key, "not-a-cidr")
    seen_from(key, day_ago(1), "198.51.100.9")
    assert [a.declared for a in summary(key).addresses] == [False]


def test_user_agents_services_regions_and_the_top_actions_are_summed_most_first():
    key = AccessKeyFactory()
    actions = {f"s3:Action{n:02d}": n for n in range(1, 13)}  # 12 actions
    used(key, day_ago(2), events=78, agents={"aws-cli/2.15": 70, "boto3/1.34": 8},
         sources={"s3.amazonaws.com": 70, "sts.amazonaws.com": 8}, actions=actions,
         regions={"eu-west-1": 78})
    used(key, day_ago(1), events=10, agents={"boto3/1.34": 10},
         sources={"sts.amazonaws.com": 10}, actions={"sts:GetCallerIdentity": 10},
         regions={"us-east-1": 10})
    usage = summary(key)
    assert [(c.value, c.events) for c in usage.user_agents] == [
        ("aws-cli/2.15", 70), ("boto3/1.34", 18)]
    assert [(c.value, c.events) for c in usage.services] == [
        ("s3.amazonaws.com", 70), ("sts.amazonaws.com", 18)]
    assert [(c.value, c.events) for c in usage.regions] == [("eu-west-1", 78),
                                                            ("us-east-1", 10)]
    assert len(usage.actions) == TOP_ACTIONS == 10
    assert [c.value for c in usage.actions[:3]] == [
        "s3:Action12", "s3:Action11", "s3:Action10"]
    assert ("sts:GetCallerIdentity", 10) in [(c.value, c.events) for c in usage.actions]
    assert "s3:Action01" not in [c.value for c in usage.actions]


def test_a_day_from_more_addresses_than_the_threshold_is_possibly_shared(settings):
    settings.KEYLEDGER_SHARED_ADDRESSES_PER_DAY = 2
    key = AccessKeyFactory()
    for n in range(3):
        seen_from(key, day_ago(4), f"198.51.100.{n}")
    for n in range(2):  # at the threshold: not flagged
        seen_from(key, day_ago(3), f"198.51.100.{n}")
    seen_from(key, day_ago(3), "s3.amazonaws.com", via_aws_service=True)  # not a place
    shared = summary(key).shared_days
    assert [(s.day, s.addresses) for s in shared] == [(day_ago(4), 3)]
    assert shared[0].reasons == ("3 addresses (more than 2)",)


def test_a_day_from_more_user_agents_than_the_threshold_is_possibly_shared(settings):
    settings.KEYLEDGER_SHARED_AGENTS_PER_DAY = 2
    key = AccessKeyFactory()
    used(key, day_ago(6), agents={"a/1": 1, "b/1": 1, "c/1": 1})
    used(key, day_ago(5), agents={"a/1": 1, "b/1": 1})
    shared = summary(key).shared_days
    assert [(s.day, s.agents, s.reasons) for s in shared] == [
        (day_ago(6), 3, ("3 user agents (more than 2)",))]


def test_both_thresholds_exceeded_are_both_said(settings):
    settings.KEYLEDGER_SHARED_ADDRESSES_PER_DAY = 1
    settings.KEYLEDGER_SHARED_AGENTS_PER_DAY = 1
    key = AccessKeyFactory()
    used(key, day_ago(1), agents={"a/1": 1, "b/1": 1})
    seen_from(key, day_ago(1), "198.51.100.1")
    seen_from(key, day_ago(1), "198.51.100.2")
    assert summary(key).shared_days[0].reasons == (
        "2 addresses (more than 1)", "2 user agents (more than 1)")


def test_a_key_used_as_one_workload_is_not_flagged():
    key = AccessKeyFactory()
    used(key, day_ago(1), agents={f"tool/{n}": 1 for n in range(5)})
    for n in range(5):
        seen_from(key, day_ago(1), f"198.51.100.{n}")
    assert summary(key).shared_days == ()


def test_the_chart_scales_to_the_busiest_day():
    key = AccessKeyFactory()
    used(key, day_ago(10), events=1000)
    used(key, day_ago(9), events=1)
    bars = {b.day: b for b in summary(key).chart}
    assert len(bars) == 30
    assert bars[day_ago(10)].height == CHART_HEIGHT and bars[day_ago(10)].y == 0
    assert bars[day_ago(9)].height == 1.0  # a quiet day still shows
    assert bars[day_ago(8)].height == 0.0
    assert bars[day_ago(9)].x > bars[day_ago(10)].x


def test_a_root_key_cannot_be_attributed(django_assert_num_queries):
    user = IamUserFactory(name="<root_account>")
    root = AccessKey.objects.create(account=user.account, user=user, access_key_id=None,
                                    slot=1, status=AccessKey.Status.ACTIVE)
    with django_assert_num_queries(0):
        usage = summary(root)
    assert not usage.attributable and not usage.has_evidence
    assert "cannot be attributed" in usage.why_empty
    assert len(usage.days) == 30


def test_the_empty_state_says_whether_the_trail_is_configured_and_read(settings):
    key = AccessKeyFactory()
    settings.KEYLEDGER_TRAIL_BUCKET = ""
    assert summary(key).why_empty == ("No CloudTrail evidence for this key in the last 30 "
                                      "days: the trail is not configured "
                                      "(KEYLEDGER_TRAIL_BUCKET is unset).")
    settings.KEYLEDGER_TRAIL_BUCKET = "org-trail-logs"
    assert summary(key).why_empty.endswith(
        "the trail has not been read for this key's account yet.")
    trail_read_for("999999999999")  # another account's log
    assert summary(key).why_empty.endswith("account yet.")
    trail_read_for(key.account.account_id)
    assert summary(key).why_empty == "No CloudTrail evidence for this key in the last 30 days."
    used(key, day_ago(1))
    assert summary(key).why_empty == ""


def test_the_number_of_queries_does_not_grow_with_the_evidence():
    key = AccessKeyFactory()
    declare(key, "203.0.113.0/24")
    key = AccessKey.objects.select_related("account").get(pk=key.pk)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            summary(key)
        return len(captured.captured_queries)

    before = queries()
    for n in range(30):
        used(key, day_ago(n), agents={f"a/{m}": 1 for m in range(8)})
        for m in range(6):
            seen_from(key, day_ago(n), f"198.51.{n}.{m}")
    trail_read_for(key.account.account_id)
    assert queries() == before == 4
