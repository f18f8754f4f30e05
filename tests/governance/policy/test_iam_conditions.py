"""Condition semantics: which source tests confine, which values name places, and which
conditions leave a grant only to AWS services acting for the user."""

import pytest

from governance.iam_conditions import (
    Operator,
    aws_service_only,
    names_known_places,
    source_tests,
    values_of,
)


@pytest.mark.parametrize(("name", "base", "qualifier", "if_exists", "absent"), [
    ("IpAddress", "ipaddress", "", False, False),
    ("NotIpAddress", "notipaddress", "", False, True),
    ("IpAddressIfExists", "ipaddress", "", True, True),
    ("NotIpAddressIfExists", "notipaddress", "", True, True),
    ("ForAllValues:StringEquals", "stringequals", "forallvalues:", False, True),
    ("ForAnyValue:StringEquals", "stringequals", "foranyvalue:", False, False),
    ("ForAnyValue:StringNotEquals", "stringnotequals", "foranyvalue:", False, False),
    ("forallvalues:stringnotlikeifexists", "stringnotlike", "forallvalues:", True, True),
    (" stringEQUALS ", "stringequals", "", False, False),
    ("Null", "null", "", False, False),
])
def test_operator_names_are_taken_apart(name, base, qualifier, if_exists, absent):
    operator = Operator.parse(name)
    assert (operator.base, operator.qualifier, operator.if_exists) == (base, qualifier,
                                                                        if_exists)
    assert operator.true_when_key_absent is absent


@pytest.mark.parametrize(("value", "expected"), [
    ("a", ("a",)), (["a", "b"], ("a", "b")), (True, ("true",)), ([False], ("false",)),
    (7, ("7",)), ({"x": 1}, ()), ([None, "a"], ("a",)),
])
def test_values_are_read_as_strings(value, expected):
    assert values_of(value) == expected


@pytest.mark.parametrize(("key", "values", "why_not"), [
    ("aws:sourceip", ("203.0.113.0/24",), ""),
    ("aws:sourceip", ("203.0.113.7",), ""),
    ("aws:sourceip", ("2001:db8::/32",), ""),
    ("aws:sourceip", ("0.0.0.0/0",), "covers every IPv4 address"),
    ("aws:sourceip", ("203.0.113.0/24", "0.0.0.0/0"), "covers every IPv4 address"),
    ("aws:sourceip", ("0.0.0.0/1", "128.0.0.0/1"), "covers every IPv4 address"),
    ("aws:sourceip", ("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"), "covers every IPv4 address"),
    ("aws:sourceip", ("0.0.0.0/1", "128.0.0.0/2"), ""),  # a quarter is left out
    ("aws:sourceip", ("1.2.3.4/0",), "covers every IPv4 address"),  # host bits ignored
    ("aws:sourceip", ("::/0",), "covers every IPv6 address"),
    ("aws:sourceip", ("::/1", "8000::/1"), "covers every IPv6 address"),
    ("aws:vpcsourceip", ("0.0.0.0/0",), "covers every IPv4 address"),
    ("aws:sourceip", ("*",), 'matches any place ("*")'),
    ("aws:sourceip", ("<corporate-cidr>",), ""),  # a placeholder, not a wildcard
    ("aws:sourcevpce", ("vpce-*",), 'matches any place ("vpce-*")'),
    ("aws:sourcevpce", ("vpce-0a1b2c3d",), ""),
    ("aws:sourcevpce", ("vpce-0a1b2c3?",), 'matches any place ("vpce-0a1b2c3?")'),
    ("aws:sourcevpc", ("vpc-1", "*"), 'matches any place ("*")'),
    ("aws:sourcevpc", ("0.0.0.0/0",), ""),  # not an address key: just an odd id
    ("aws:sourcevpc", (), "has no value"),
])
def test_values_name_known_places_only_when_specific(key, values, why_not):
    assert names_known_places(key, values) == why_not


def _tests(operator, key="aws:SourceIp", value="203.0.113.0/24"):
    return source_tests({operator: {key: value}})


@pytest.mark.parametrize(("operator", "negated", "confines"), [
    ("IpAddress", False, True),
    ("IpAddressIfExists", False, False),
    ("ForAllValues:IpAddress", False, False),
    ("ForAnyValue:IpAddress", False, True),
    ("NotIpAddress", True, True),
    ("NotIpAddressIfExists", True, True),
    ("ForAllValues:NotIpAddress", True, True),
    ("ForAnyValue:NotIpAddress", True, False),
])
def test_a_test_confines_when_it_holds_requests_without_the_key(operator, negated, confines):
    (test,) = _tests(operator)
    assert test.negated is negated
    assert test.confines is confines


def test_weakness_says_why_a_test_does_not_confine():
    (loophole,) = _tests("IpAddressIfExists")
    assert loophole.weakness == ("its IpAddressIfExists aws:SourceIp lets requests without the "
                                 "key through")
    (vague,) = _tests("IpAddress", value=["0.0.0.0/0"])
    assert vague.weakness == "its IpAddress aws:SourceIp covers every IPv4 address"
    (good,) = _tests("IpAddress")
    assert good.weakness == ""


def test_only_source_keys_under_comparison_operators_are_source_tests():
    condition = {
        "Bool": {"aws:SourceIp": "true"},  # not a comparison that names places
        "StringEquals": {"aws:PrincipalTag/team": "ops", "AWS:SOURCEVPCE": "vpce-1"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    assert [str(t) for t in source_tests(condition)] == [
        "StringEquals AWS:SOURCEVPCE", "IpAddress aws:SourceIp"]


@pytest.mark.parametrize(("condition", "only"), [
    ({"Bool": {"aws:ViaAWSService": "true"}}, "Bool aws:ViaAWSService"),
    ({"Bool": {"aws:ViaAWSService": True}}, "Bool aws:ViaAWSService"),
    ({"Bool": {"AWS:VIAAWSSERVICE": ["true"]}}, "Bool AWS:VIAAWSSERVICE"),
    ({"Bool": {"aws:IsMcpServiceAction": "true"}}, "Bool aws:IsMcpServiceAction"),
    ({"StringEquals": {"aws:CalledViaFirst": "cloudformation.amazonaws.com"}},
     "StringEquals aws:CalledViaFirst"),
    ({"ForAnyValue:StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}},
     "ForAnyValue:StringEquals aws:CalledVia"),
    ({"Null": {"aws:CalledVia": "false"}}, "Null aws:CalledVia"),
    ({"Bool": {"aws:ViaAWSService": "false"}}, ""),  # direct calls only: the opposite
    ({"Bool": {"aws:ViaAWSService": ["true", "false"]}}, ""),  # either: anything goes
    ({"BoolIfExists": {"aws:ViaAWSService": "true"}}, ""),
    ({"ForAllValues:StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}}, ""),
    ({"StringNotEquals": {"aws:CalledVia": "athena.amazonaws.com"}}, ""),
    ({"Null": {"aws:CalledVia": "true"}}, ""),
    ({"Null": {"aws:ViaAWSService": "false"}}, ""),  # always present: confines nothing
    ({"Bool": {"aws:SecureTransport": "true"}}, ""),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, ""),
    ({}, ""),
])
def test_grants_left_only_to_aws_services_acting_for_the_user(condition, only):
    assert aws_service_only(condition) == only


def test_one_service_only_test_is_enough_among_others():
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                 "Bool": {"aws:SecureTransport": "true", "aws:ViaAWSService": "true"}}
    assert aws_service_only(condition) == "Bool aws:ViaAWSService"
