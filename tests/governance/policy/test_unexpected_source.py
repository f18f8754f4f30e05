"""UNEXPECTED_SOURCE at its boundaries: the window's edge day, CIDR edges, IPv6, AWS services,
declared endpoints, inactive keys, nothing declared, and the bounded reason."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from governance.policy import (
    REASON_CHARS,
    AddressDay,
    Element,
    Severity,
    Thresholds,
    evaluate_key,
)

from .test_rules import NOW, clean

TODAY = NOW.date()  # 2026-11-28, UTC
OFFICE = ("203.0.113.0/24",)


def seen(address: str, *, day: date = TODAY, events: int = 5, actions=(("s3:GetObject", 5),),
         via_aws_service: bool = False, vpc_endpoint_id: str = "",
         first: datetime | None = None, last: datetime | None = None) -> AddressDay:
    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
    return AddressDay(day=day, address=address, first_seen=first or start,
                      last_seen=last or start + timedelta(hours=1), events=events,
                      actions=tuple(actions), via_aws_service=via_aws_service,
                      vpc_endpoint_id=vpc_endpoint_id)


def finding(*rows: AddressDay, declared=OFFICE, thresholds: Thresholds | None = None, **facts):
    key = clean(declared_sources=tuple(declared), addresses=tuple(rows), **facts)
    kwargs = {"thresholds": thresholds} if thresholds else {}
    found = [f for f in evaluate_key(key, now=NOW, **kwargs) if f.code == "UNEXPECTED_SOURCE"]
    assert len(found) <= 1
    return found[0] if found else None


def test_an_undeclared_address_opens_a_high_waivable_source_finding():
    found = finding(seen("198.51.100.7"))
    assert (found.element, found.severity, found.waivable) == (Element.SOURCE, Severity.HIGH,
                                                              True)
    assert found.reason == (
        "used from 1 undeclared address in the last 30 days: 198.51.100.7 first seen "
        "2026-11-28T09:00:00Z, last seen 2026-11-28T10:00:00Z, 5 events (s3:GetObject 5)")


def test_declared_addresses_raise_nothing():
    assert finding(seen("203.0.113.9"), seen("203.0.113.200")) is None


@pytest.mark.parametrize(("address", "fires"), [
    ("203.0.113.0", False), ("203.0.113.255", False),  # the CIDR's first and last address
    ("203.0.112.255", True), ("203.0.114.0", True),  # one outside, either side
])
def test_cidr_edges(address, fires):
    assert (finding(seen(address)) is not None) is fires


def test_a_bare_declared_address_is_its_own_host():
    assert finding(seen("192.0.2.10"), declared=("192.0.2.10/32",)) is None
    assert finding(seen("192.0.2.11"), declared=("192.0.2.10/32",)) is not None


@pytest.mark.parametrize(("address", "fires"), [
    ("2001:db8:abcd::1", False), ("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", False),
    ("2001:db8:abce::", True), ("203.0.113.9", True),  # an IPv4 address is not in an IPv6 CIDR
])
def test_ipv6(address, fires):
    assert (finding(seen(address), declared=("2001:db8:abcd::/48",)) is not None) is fires


def test_the_window_counts_its_first_day_and_not_the_day_before():
    edge = TODAY - timedelta(days=29)
    assert finding(seen("198.51.100.7", day=edge)) is not None
    assert finding(seen("198.51.100.7", day=edge - timedelta(days=1))) is None


def test_the_window_follows_the_threshold():
    old = seen("198.51.100.7", day=TODAY - timedelta(days=7))
    assert finding(old, thresholds=Thresholds(evidence_days=8)) is not None
    assert finding(old, thresholds=Thresholds(evidence_days=7)) is None
    assert "in the last 8 days" in finding(old, thresholds=Thresholds(evidence_days=8)).reason


def test_the_window_is_utc_days_whatever_the_clock_zone():
    key = clean(declared_sources=OFFICE, addresses=(seen("198.51.100.7", day=TODAY),))
    # 2026-11-29 00:30 in +02:00 is still 2026-11-28 in UTC: the row is today's.
    late = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)
    assert {f.code for f in evaluate_key(key, now=late)} >= {"UNEXPECTED_SOURCE"}
    edge_key = replace(key, addresses=(seen("198.51.100.7", day=TODAY - timedelta(days=29)),))
    assert "UNEXPECTED_SOURCE" not in {
        f.code for f in evaluate_key(edge_key, now=datetime(2026, 11, 29, 0, 30, tzinfo=UTC))}


@pytest.mark.parametrize("row", [
    seen("198.51.100.7", via_aws_service=True),  # an AWS service calling from its own address
    seen("s3.amazonaws.com"), seen("AWS Internal"),  # a service name for an address
])
def test_aws_services_acting_for_the_key_never_count(row):
    assert finding(row) is None


def test_nothing_declared_no_finding():
    assert finding(seen("198.51.100.7"), declared=()) is None


def test_declared_sources_that_no_longer_parse_are_ignored_not_fatal():
    assert finding(seen("198.51.100.7"), declared=("not-a-source",)) is not None
    assert finding(seen("203.0.113.9"), declared=("not-a-source", "203.0.113.0/24")) is None


def test_inactive_and_root_keys_raise_nothing():
    assert finding(seen("198.51.100.7"), status="Inactive") is None
    assert finding(seen("198.51.100.7"), is_root=True, permissions=None) is None


def test_a_declared_endpoint_covers_calls_through_it_only():
    endpoint = "vpce-0123456789abcdef0"
    assert finding(seen("10.1.2.3", vpc_endpoint_id=endpoint), declared=(endpoint,)) is None
    assert finding(seen("10.1.2.3"), declared=(endpoint,)) is not None
    assert finding(seen("10.1.2.3", vpc_endpoint_id="vpce-0123456789abcdef1"),
                   declared=(endpoint,)) is not None


def test_a_declared_vpc_id_does_not_cover_an_endpoint_call():
    # CloudTrail names the endpoint, never the VPC: the owner declares the endpoint too.
    row = seen("10.1.2.3", vpc_endpoint_id="vpce-0123456789abcdef0")
    assert finding(row, declared=("vpc-0123456789abcdef0",)) is not None


def test_days_of_one_address_add_up():
    first = datetime(2026, 11, 20, 7, 5, 1, tzinfo=UTC)
    last = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)
    found = finding(
        seen("198.51.100.7", day=date(2026, 11, 27), events=3, last=last,
             actions=(("s3:GetObject", 2), ("s3:PutObject", 1))),
        seen("198.51.100.7", day=date(2026, 11, 20), events=4, first=first,
             actions=(("s3:GetObject", 4),)))
    assert found.reason.endswith(
        "198.51.100.7 first seen 2026-11-20T07:05:01Z, last seen 2026-11-27T23:59:59Z, "
        "7 events (s3:GetObject 6, s3:PutObject 1)")


def test_a_declared_and_an_undeclared_address_only_the_undeclared_is_listed():
    found = finding(seen("203.0.113.9", events=50), seen("198.51.100.7", events=1,
                                                          actions=()))
    assert "203.0.113.9" not in found.reason
    assert found.reason.startswith("used from 1 undeclared address in")
    assert found.reason.endswith("198.51.100.7 first seen 2026-11-28T09:00:00Z, last seen "
                                 "2026-11-28T10:00:00Z, 1 events")


def test_actions_show_the_top_few_then_how_many_more():
    actions = (("s3:GetObject", 9), ("s3:PutObject", 5), ("s3:ListBucket", 5),
               ("sqs:SendMessage", 1), ("sqs:ReceiveMessage", 1))
    found = finding(seen("198.51.100.7", events=21, actions=actions))
    assert found.reason.endswith("21 events (s3:GetObject 9, s3:ListBucket 5, s3:PutObject 5, "
                                 "… and 2 more)")


def test_exactly_the_shown_number_of_actions_has_no_tail():
    actions = (("a:A", 3), ("a:B", 2), ("a:C", 1))
    assert finding(seen("198.51.100.7", actions=actions)).reason.endswith(
        "(a:A 3, a:B 2, a:C 1)")


def test_addresses_most_events_first_plural_and_ties_by_address():
    found = finding(seen("198.51.100.9", events=2, actions=()),
                    seen("198.51.100.8", events=2, actions=()),
                    seen("192.0.2.1", events=7, actions=()))
    assert found.reason.startswith("used from 3 undeclared addresses in the last 30 days: "
                                   "192.0.2.1 first")
    assert found.reason.index("198.51.100.8") < found.reason.index("198.51.100.9")
    assert "more" not in found.reason


def test_many_addresses_are_cut_to_fit_and_counted():
    rows = [seen(f"198.51.100.{n}", events=100 - n,
                 actions=(("ec2:DescribeInstances", 100 - n),)) for n in range(1, 41)]
    reason = finding(*rows).reason
    assert len(reason) <= REASON_CHARS
    shown = reason.count(" first seen ")
    assert 1 < shown < 40
    assert reason.endswith(f"; … and {40 - shown} more")
    assert reason.startswith("used from 40 undeclared addresses")


def test_the_cut_fills_the_reason_as_far_as_it_can():
    rows = [seen(f"198.51.100.{n}", events=100 - n, actions=()) for n in range(1, 41)]
    reason = finding(*rows).reason
    shown = reason.count(" first seen ")
    one_more = len("; 198.51.100.10 first seen 2026-11-28T09:00:00Z, last seen "
                   "2026-11-28T10:00:00Z, 90 events")
    assert len(reason) + one_more > REASON_CHARS
    assert shown == 4  # 55 + 4 lines of ~90 + the tail; a fifth would pass 500


def test_the_last_address_that_fits_needs_no_tail():
    # Two addresses whose lines fit with no "… and N more" tail both show.
    rows = [seen(f"198.51.100.{n}", events=10 - n, actions=()) for n in range(1, 3)]
    reason = finding(*rows).reason
    assert reason.count(" first seen ") == 2 and "more" not in reason


def test_a_first_address_longer_than_the_budget_still_shows():
    long_actions = tuple((f"service{n}:{'X' * 120}", 10 - n) for n in range(4))
    rows = [seen("198.51.100.1", events=50, actions=long_actions),
            seen("198.51.100.2", events=1, actions=())]
    reason = finding(*rows).reason
    assert "198.51.100.1 first seen" in reason
    assert reason.endswith("; … and 1 more")


# -- exact reasons: order, plural, the join, the budget's edge, UTC -------------------------

def test_an_aws_service_row_before_an_undeclared_one_is_skipped_not_the_end():
    found = finding(seen("s3.amazonaws.com", events=90), seen("192.0.2.50", via_aws_service=True),
                    seen("198.51.100.7"))
    assert found.reason.startswith("used from 1 undeclared address in the last 30 days: "
                                   "198.51.100.7 ")


def test_actions_by_count_not_by_name():
    found = finding(seen("198.51.100.7", events=16,
                         actions=(("a:Alpha", 1), ("a:Beta", 2), ("z:Zeta", 9), ("m:Mu", 4))))
    assert found.reason.endswith("(z:Zeta 9, m:Mu 4, a:Beta 2, … and 1 more)")


def test_two_addresses_exactly_by_events_then_address():
    found = finding(seen("10.0.0.1", events=1, actions=()),
                    seen("198.51.100.9", events=3, actions=(("s3:GetObject", 3),)))
    assert found.reason == (
        "used from 2 undeclared addresses in the last 30 days: 198.51.100.9 first seen "
        "2026-11-28T09:00:00Z, last seen 2026-11-28T10:00:00Z, 3 events (s3:GetObject 3); "
        "10.0.0.1 first seen 2026-11-28T09:00:00Z, last seen 2026-11-28T10:00:00Z, 1 events")


HEAD2 = "used from 2 undeclared addresses in the last 30 days: "
LINE = ("198.51.100.{n} first seen 2026-11-28T09:00:00Z, last seen 2026-11-28T10:00:00Z, "
        "{events} events")


def two_addresses_padded_to(total: int) -> tuple[list[AddressDay], str, str]:
    """Two undeclared addresses whose full two-line reason is ``total`` characters long:
    the second's one action is padded to get there."""
    first = LINE.format(n=1, events=50)
    bare = HEAD2 + first + "; " + LINE.format(n=2, events=1) + " (a: 1)"
    action = "a:" + "X" * (total - len(bare))
    rows = [seen("198.51.100.1", events=50, actions=()),
            seen("198.51.100.2", events=1, actions=((action, 1),))]
    return rows, first, action


def test_a_reason_of_exactly_the_budget_shows_every_address():
    rows, first, action = two_addresses_padded_to(REASON_CHARS)
    reason = finding(*rows).reason
    assert len(reason) == REASON_CHARS
    assert reason == HEAD2 + first + "; " + LINE.format(n=2, events=1) + f" ({action} 1)"


def test_one_character_over_the_budget_shows_the_first_and_counts_the_rest():
    rows, first, _ = two_addresses_padded_to(REASON_CHARS + 1)
    assert finding(*rows).reason == HEAD2 + first + "; … and 1 more"


def test_the_budget_counts_the_tail_of_the_addresses_left_out():
    # Three addresses: the first two fit in the budget alone, but not with "; … and 1 more".
    rows, first, action = two_addresses_padded_to(REASON_CHARS - 10)
    rows.append(seen("198.51.100.3", events=1, actions=()))
    reason = finding(*rows).reason
    head3 = HEAD2.replace("2 undeclared", "3 undeclared")
    assert reason == head3 + first + "; … and 2 more"


@pytest.fixture
def tokyo_clock(monkeypatch):
    """The machine's local zone far from UTC: reasons must not depend on it."""
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_shown_in_utc_whatever_their_zone_and_the_machines(tokyo_clock):
    plus_two = timezone(timedelta(hours=2))
    found = finding(seen("198.51.100.7", actions=(),
                         first=datetime(2026, 11, 28, 11, 0, 5, tzinfo=plus_two),
                         last=datetime(2026, 11, 28, 23, 30, tzinfo=UTC)))
    assert found.reason.endswith("198.51.100.7 first seen 2026-11-28T09:00:05Z, last seen "
                                 "2026-11-28T23:30:00Z, 5 events")
