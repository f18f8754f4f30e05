"""Declared sources (``governance.sources``): parsing and canonical forms, the messages a bad
entry gets, whether an observed address is declared, and the Deny guard's exact shape."""

import pytest

from governance.iam_policy import PolicySource, analyse_permissions
from governance.sources import (
    MAX_SOURCES,
    Source,
    SourceError,
    address_declared,
    deny_guard,
    is_ip_address,
    parse_each,
    parse_source,
    parse_sources,
    split_sources,
    stored_sources,
)

VPC = "vpc-0123456789abcdef0"
VPCE = "vpce-0123456789abcdef0"


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("203.0.113.0/24", "cidr", "203.0.113.0/24"),
    ("  203.0.113.0/24 ", "cidr", "203.0.113.0/24"),
    ("10.0.0.1", "cidr", "10.0.0.1/32"),
    ("2001:DB8::/32", "cidr", "2001:db8::/32"),
    ("2001:db8::1", "cidr", "2001:db8::1/128"),
    ("vpc-01234567", "vpc", "vpc-01234567"),
    ("VPC-0123456789ABCDEF0", "vpc", VPC),
    ("vpce-01234567", "vpce", "vpce-01234567"),
    (" VPCE-0123456789abcdef0", "vpce", VPCE),
])
def test_sources_are_canonical(text, kind, value):
    assert parse_source(text) == Source(kind, value)


@pytest.mark.parametrize(("text", "message"), [
    ("10.0.0.1/8", "'10.0.0.1/8': the address has bits set beyond the prefix; did you mean "
                   "10.0.0.0/8?"),
    ("0.0.0.0/0", "'0.0.0.0/0' is every address: it confines nothing"),
    ("::/0", "'::/0' is every address: it confines nothing"),
    ("10.0.0.300", "'10.0.0.300' is not a CIDR (203.0.113.0/24), a VPC id (vpc-…) or a VPC "
                   "endpoint id (vpce-…)"),
    ("vpc-123", "'vpc-123' is not a CIDR"),
    ("vpc-0123456789", "'vpc-0123456789' is not a CIDR"),  # neither 8 nor 17 hex digits
    ("vpce-0123456789abcdefg", "'vpce-0123456789abcdefg' is not a CIDR"),
    ("xvpc-01234567", "'xvpc-01234567' is not a CIDR"),
    ("vpc-01234567x", "'vpc-01234567x' is not a CIDR"),
    ("10.0.0.0/33", "'10.0.0.0/33' is not a CIDR"),
])
def test_bad_sources_say_why(text, message):
    with pytest.raises(SourceError) as error:
        parse_source(text)
    assert str(error.value).startswith(message)


def test_a_host_bits_error_is_raised_alone():
    with pytest.raises(SourceError) as error:
        parse_source("10.0.0.1/8")
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_network_is_the_cidr_only():
    assert str(parse_source("203.0.113.0/24").network) == "203.0.113.0/24"
    assert parse_source(VPC).network is None and parse_source(VPCE).network is None


def test_parse_sources_keeps_order_drops_duplicates_and_blanks():
    assert parse_sources(["10.0.0.1", "", "  ", VPCE, "10.0.0.1/32", "2001:db8::/32"]) == [
        Source("cidr", "10.0.0.1/32"), Source("vpce", VPCE), Source("cidr", "2001:db8::/32")]


def test_parse_sources_raises_on_the_first_bad_one():
    with pytest.raises(SourceError, match="'nope'"):
        parse_sources(["10.0.0.0/8", "nope", "also bad"])


def test_at_most_max_sources():
    many = [f"10.0.{n // 256}.{n % 256}" for n in range(MAX_SOURCES)]
    assert len(parse_sources(many)) == MAX_SOURCES
    assert len(parse_sources([*many, many[0]])) == MAX_SOURCES  # a duplicate is not one more
    with pytest.raises(SourceError, match=f"at most {MAX_SOURCES} sources; group addresses "
                                          "into CIDRs"):
        parse_sources([*many, "192.0.2.1"])


@pytest.mark.parametrize(("text", "parts"), [
    ("10.0.0.0/8\n192.0.2.1", ["10.0.0.0/8", "192.0.2.1"]),
    ("10.0.0.0/8, 192.0.2.1,vpce-01234567", ["10.0.0.0/8", "192.0.2.1", "vpce-01234567"]),
    ("\r\n  10.0.0.0/8 \t 192.0.2.1  ,, \n", ["10.0.0.0/8", "192.0.2.1"]),
    ("", []),
])
def test_split_sources(text, parts):
    assert split_sources(text) == parts


@pytest.mark.parametrize(("text", "ip"), [
    ("198.51.100.7", True), (" 198.51.100.7 ", True), ("2001:db8::1", True),
    ("s3.amazonaws.com", False), ("AWS Internal", False), ("", False), ("10.0.0.0/8", False),
])
def test_is_ip_address(text, ip):
    assert is_ip_address(text) is ip


def test_stored_sources_skip_what_no_longer_parses():
    assert stored_sources(["10.0.0.0/8", "bad", VPCE, 42]) == [
        Source("cidr", "10.0.0.0/8"), Source("vpce", VPCE)]
    assert stored_sources([]) == []


OFFICE = parse_sources(["203.0.113.0/24", "2001:db8::/48"])


@pytest.mark.parametrize(("address", "declared"), [
    ("203.0.113.0", True), ("203.0.113.255", True), (" 203.0.113.7 ", True),
    ("203.0.112.255", False), ("203.0.114.0", False),
    ("2001:db8::1", True), ("2001:db9::1", False),
    ("s3.amazonaws.com", False), ("", False),
])
def test_address_declared_by_cidr(address, declared):
    assert address_declared(address, OFFICE) is declared


def test_an_ipv4_address_is_not_in_an_ipv6_network_nor_the_reverse():
    assert not address_declared("10.0.0.1", parse_sources(["::/1"]))
    assert not address_declared("::a00:1", parse_sources(["0.0.0.0/1"]))
    assert address_declared("::ffff:a00:1", parse_sources(["::ffff:0:0/96"]))


def test_endpoints_and_vpcs_match_only_when_the_record_names_them():
    sources = parse_sources([VPCE, VPC])
    assert address_declared("10.9.9.9", sources, vpc_endpoint_id=VPCE)
    assert address_declared("10.9.9.9", sources, vpc_endpoint_id=VPCE.upper())
    assert address_declared("10.9.9.9", sources, vpc_id=VPC.upper())
    assert not address_declared("10.9.9.9", sources)
    assert not address_declared("10.9.9.9", sources, vpc_endpoint_id=VPC)  # kinds differ
    assert not address_declared("10.9.9.9", sources, vpc_id=VPCE)
    assert not address_declared("10.9.9.9", sources, vpc_endpoint_id="vpce-01234567")
    # An endpoint call also counts when its address is a declared CIDR's.
    assert address_declared("203.0.113.9", OFFICE, vpc_endpoint_id=VPCE)


def test_an_empty_id_never_matches():
    assert not address_declared("10.9.9.9", [Source("vpce", ""), Source("vpc", "")])


def guard(*texts):
    return deny_guard(parse_sources(texts))


def test_guard_with_cidrs_only():
    assert guard("203.0.113.0/24", "2001:db8::/48") == {
        "Sid": "DenyOutsideDeclaredSources", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:ViaAWSService": "false"},
                      "NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/48"]}}}


def test_guard_with_endpoints_and_vpcs_only():
    assert guard(VPCE, VPC)["Condition"] == {
        "BoolIfExists": {"aws:ViaAWSService": "false"},
        "StringNotEqualsIfExists": {"aws:SourceVpce": [VPCE], "aws:SourceVpc": [VPC]}}
    assert guard(VPC)["Condition"] == {
        "BoolIfExists": {"aws:ViaAWSService": "false"},
        "StringNotEqualsIfExists": {"aws:SourceVpc": [VPC]}}


def test_guard_with_everything():
    assert guard("10.0.0.1", VPCE)["Condition"] == {
        "BoolIfExists": {"aws:ViaAWSService": "false"},
        "NotIpAddress": {"aws:SourceIp": ["10.0.0.1/32"]},
        "StringNotEqualsIfExists": {"aws:SourceVpce": [VPCE]}}


@pytest.mark.parametrize("sources", [("203.0.113.0/24",), (VPCE,), (VPC,),
                                     ("203.0.113.0/24", VPCE, VPC)])
def test_the_guard_confines_a_broad_allow_as_no_source_restriction_judges_it(sources):
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, guard(*sources)]}
    verdict = analyse_permissions([PolicySource("user-inline", "p", document)])
    assert verdict.source_restricted, verdict.source_reason


def test_parse_each_names_every_bad_entry_and_keeps_the_good_once():
    assert parse_each(["10.0.0.0/8", "bad", "10.0.0.0/8", "0.0.0.0/0", VPCE]) == (
        [Source("cidr", "10.0.0.0/8"), Source("vpce", VPCE)],
        ["'bad' is not a CIDR (203.0.113.0/24), a VPC id (vpc-…) or a VPC endpoint id "
         "(vpce-…)", "'0.0.0.0/0' is every address: it confines nothing"])


def test_without_an_endpoint_or_vpc_in_the_record_no_id_matches():
    odd = [Source("vpce", "xxxx"), Source("vpc", "xxxx")]  # whatever the stored value
    assert not address_declared("10.0.0.1", odd)
