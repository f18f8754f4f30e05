"""Malformed policy documents: each reads as iam_statements' docstring says, never a crash.

``test_iam_policy.py`` covers the common shapes (undecodable text, ``Statement`` 42 or null,
junk items, malformed Conditions); this file adds the rest of the documented verdicts and
the inputs that used to crash the analyser.
"""

import itertools

import pytest

from governance.iam_conditions import names_known_places
from governance.iam_policy import PermissionVerdict, PolicySource, analyse_permissions
from governance.iam_statements import decode_document, statements

OFFICE = ["203.0.113.0/24"]
OFFICE_GUARD = {"NotIpAddress": {"aws:SourceIp": OFFICE}}
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
S3_READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}
NOTHING_GRANTED = "no Allow statement grants every action on every resource"


def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def verdict(*documents) -> PermissionVerdict:
    return analyse_permissions(PolicySource("user-inline", f"p{i}", d)
                               for i, d in enumerate(documents))


# -- documents Python's JSON parser cannot take ----------------------------------------------

@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    '{"Statement": ' + "[" * 5000 + "]" * 5000 + "}",
])
def test_a_document_nested_too_deeply_has_no_statements(text):
    assert decode_document(text) == {}
    result = verdict(text)
    assert (result.admin, result.escalation, result.source_restricted) == (False, False, True)
    assert result.source_reason == "grants no permissions"


# -- patterns of any length --------------------------------------------------------------------

LONG_ARN = "arn:aws:s3:::" + "a" * 3000
LONG_ACTION = "s3:" + "Get" * 1000


def test_a_guard_on_an_arn_thousands_of_characters_long_is_judged():
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": LONG_ARN}
    guard = {"Effect": "Deny", "Action": "*", "Resource": LONG_ARN[:-1] + "*",
             "Condition": OFFICE_GUARD}
    result = verdict(doc(allow), doc(guard))
    assert result.source_reason == ('inline policy "p1" (user) denies every action unless '
                                    "NotIpAddress aws:SourceIp matches")
    elsewhere = {**guard, "Resource": LONG_ARN + "b*"}
    assert not verdict(doc(allow), doc(elsewhere)).source_restricted


def test_a_not_action_thousands_of_characters_long_is_judged():
    allow = {"Effect": "Allow", "Action": LONG_ACTION, "Resource": "*"}
    sparing = {"Effect": "Deny", "NotAction": LONG_ACTION, "Resource": "*",
               "Condition": OFFICE_GUARD}
    assert not verdict(doc(allow), doc(sparing)).source_restricted
    sparing_other = {**sparing, "NotAction": LONG_ACTION + "x"}
    assert verdict(doc(allow), doc(sparing_other)).source_restricted


def test_a_run_of_thousands_of_stars_is_one_star():
    iam_excluded = {"Effect": "Allow", "NotAction": "iam:" + "*" * 5000, "Resource": "*"}
    result = verdict(doc(iam_excluded))
    assert not result.admin and not result.escalation
    s3_excluded = {"Effect": "Allow", "NotAction": "s3:" + "*" * 5000, "Resource": "*"}
    assert verdict(doc(s3_excluded)).admin


# -- a malformed Deny is never protection, and hides nothing after it ----------------------

MALFORMED_DENIES = [
    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": "junk"},
    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": ["x"]}},
    {"Effect": "Deny", "NotAction": 42, "Resource": "*"},
    {"Effect": "Deny", "NotAction": [42], "Resource": "*"},
    {"Effect": "Deny", "NotAction": {"Action": "s3:*"}, "Resource": "*"},
    {"Effect": "Deny", "Action": ["*", None], "Resource": "*"},
    {"Effect": "Deny", "Action": "*", "Resource": ["*", 7]},
    {"Effect": "Deny", "Action": "*", "NotResource": 42},
    {"Effect": "Deny", "Action": "*", "NotResource": None},
]


@pytest.mark.parametrize("malformed", MALFORMED_DENIES)
def test_a_malformed_deny_is_left_out(malformed):
    assert statements(PolicySource("user-inline", "p", doc(malformed))) == []


@pytest.mark.parametrize("malformed", MALFORMED_DENIES)
def test_a_malformed_deny_cancels_no_admin_and_no_escalation_path(malformed):
    assert verdict(doc(ADMIN, malformed)).admin
    path = {"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}
    assert verdict(doc(path, malformed)).escalation_reason == (
        'can make itself admin: iam:PutUserPolicy, from inline policy "p0" (user)')


@pytest.mark.parametrize("malformed", MALFORMED_DENIES)
def test_a_malformed_deny_with_a_source_test_guards_nothing(malformed):
    guard = {**malformed, "Condition": malformed.get("Condition", OFFICE_GUARD)}
    assert not verdict(doc(S3_READ), doc(guard)).source_restricted


@pytest.mark.parametrize("malformed", MALFORMED_DENIES)
def test_statements_after_a_malformed_deny_still_count(malformed):
    assert verdict(doc(malformed, ADMIN)).admin
    guard = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": OFFICE_GUARD}
    assert verdict(doc(S3_READ), doc(malformed, guard)).source_restricted


# -- a malformed Allow grants at least as much as it could --------------------------------

@pytest.mark.parametrize(("statement", "admin_reason"), [
    ({"Effect": "Allow", "NotAction": 42, "Resource": "*"},
     'inline policy "p0" (user) allows every action on "*"'),
    ({"Effect": "Allow", "NotAction": [42, None], "Resource": "*"},
     'inline policy "p0" (user) allows every action on "*"'),
    ({"Effect": "Allow", "Action": "*", "NotResource": {"arn": "x"}},
     'inline policy "p0" (user) allows "*" on every resource'),
    ({"Effect": "Allow", "Action": ["*", 42], "Resource": "*"},
     'inline policy "p0" (user) allows "*" on "*"'),
    ({"Effect": "Allow", "NotAction": [42, "iam:*"], "Resource": "*"}, NOTHING_GRANTED),
    ({"Effect": "Allow", "Action": 42, "Resource": "*"}, NOTHING_GRANTED),
    ({"Effect": "Allow", "Action": "*", "Resource": None}, NOTHING_GRANTED),
])
def test_an_allow_drops_what_is_not_a_string_and_grants_the_rest(statement, admin_reason):
    assert verdict(doc(statement)).admin_reason == admin_reason


# -- condition values of the wrong type ------------------------------------------------------

@pytest.mark.parametrize("value", [None, {"cidr": "203.0.113.0/24"}, [None, ["x"]], []])
def test_a_source_test_without_a_readable_value_confines_nothing(value):
    allow = {**S3_READ, "Condition": {"IpAddress": {"aws:SourceIp": value}}}
    assert verdict(doc(allow)).source_reason == (
        '1 of 1 Allow statements has no confining source condition (e.g. inline policy "p0" '
        '(user) allowing "s3:GetObject": its IpAddress aws:SourceIp has no value); no Deny '
        "guard on every action")
    guard = {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": value}}}
    assert verdict(doc(S3_READ), doc(guard)).source_reason.endswith(
        '; the Deny in inline policy "p1" (user) falls short: its NotIpAddress aws:SourceIp '
        "has no value")


def test_a_value_that_is_no_address_does_not_hide_a_catch_all_after_it():
    assert names_known_places("aws:sourceip", ("<office-cidr>", "0.0.0.0/0")) == (
        "covers every IPv4 address")
    assert names_known_places("aws:sourceip", ("<office-cidr>", "::/1", "8000::/1")) == (
        "covers every IPv6 address")
    guard = {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": ["<office-cidr>", "0.0.0.0/0"]}}}
    assert not verdict(doc(S3_READ), doc(guard)).source_restricted


# -- no shape crashes the analyser -----------------------------------------------------------

ODD_VALUES = [None, 42, True, "", "*", "*:*:*", [], [42, "*"], {"x": "*"}]
ODD_CONDITIONS = [None, "junk", [], {}, {"Bool": 7}, {"IpAddress": {"aws:SourceIp": None}},
                  {"NotIpAddress": {"aws:SourceIp": [["x"]]}}, {7: {8: 9}}]


@pytest.mark.parametrize("effect", ["Allow", "Deny", None, 42, ["Allow"]])
def test_no_combination_of_odd_fields_crashes_the_analyser(effect):
    for action, resource, condition in itertools.product(ODD_VALUES, ODD_VALUES,
                                                         ODD_CONDITIONS):
        for fields in (("Action", "Resource"), ("NotAction", "NotResource")):
            statement = {"Effect": effect, fields[0]: action, fields[1]: resource,
                         "Condition": condition}
            result = verdict(doc(statement), doc(S3_READ))
            assert isinstance(result, PermissionVerdict)
            assert not (result.admin and result.escalation)
            assert result.admin_reason and result.source_reason
