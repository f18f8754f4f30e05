"""IAM policy semantics behind ADMIN_PRIVILEGE and NO_SOURCE_RESTRICTION."""

import json
from urllib.parse import quote

import pytest

from governance.iam_policy import (
    PolicySource,
    action_matches,
    analyse_permissions,
    decode_document,
    quarantine_policy,
    resource_matches,
    statements,
)

ADMINISTRATOR_ACCESS = {"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
OFFICE = ["203.0.113.0/24"]
VPCE = "vpce-0a1b2c3d4e5f60789"


def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="*", resource="*", condition=None, **extra) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if condition:
        statement["Condition"] = condition
    return statement


def deny(action="*", resource="*", condition=None) -> dict:
    statement = {"Effect": "Deny", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def not_action(excluded, resource="*") -> dict:
    return {"Effect": "Allow", "NotAction": excluded, "Resource": resource}


def inline(document, name="p") -> PolicySource:
    return PolicySource("user-inline", name, document)


def verdict(*documents):
    return analyse_permissions(inline(d, f"p{i}") for i, d in enumerate(documents))


S3_READ = allow(["s3:GetObject"], "arn:aws:s3:::reports/*")
GUARD_IP = deny(condition={"NotIpAddress": {"aws:SourceIp": OFFICE}})


# -- decoding ------------------------------------------------------------------------------

@pytest.mark.parametrize("form", [
    lambda d: d,
    json.dumps,
    lambda d: quote(json.dumps(d)),
    lambda d: json.dumps(d).encode(),
])
def test_documents_decode_from_dict_json_and_url_encoded_json(form):
    assert decode_document(form(ADMINISTRATOR_ACCESS)) == ADMINISTRATOR_ACCESS
    assert verdict(form(ADMINISTRATOR_ACCESS)).admin


@pytest.mark.parametrize("garbage", ["", "not json", "%7Bbroken", "[1, 2]", None, 42])
def test_undecodable_documents_grant_nothing(garbage):
    assert decode_document(garbage) == {}
    result = verdict(garbage)
    assert not result.admin and result.source_restricted
    assert result.source_reason == "grants no permissions"


def test_statement_may_be_a_single_dict_or_a_list():
    single = {"Version": "2012-10-17", "Statement": allow()}
    assert len(statements(inline(single))) == len(statements(inline(doc(allow())))) == 1
    assert verdict(single).admin


def test_statements_without_a_known_effect_are_ignored():
    assert statements(inline(doc({"Action": "*", "Resource": "*"}, "junk"))) == []


# -- wildcards -----------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "action", "matches"), [
    ("iam:*", "iam:CreateUser", True),
    ("iam:*", "s3:GetObject", False),
    ("s3:Get*", "S3:getobject", True),  # actions are case-insensitive
    ("*:Get*", "ec2:GetConsoleOutput", True),
    ("*:Get*", "ec2:DescribeInstances", False),
    ("s3:?etObject", "s3:GetObject", True),
    ("s3:[G]etObject", "s3:GetObject", False),  # no character classes in IAM
    ("*", "anything:AtAll", True),
])
def test_action_wildcards(pattern, action, matches):
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(("pattern", "resource", "matches"), [
    ("arn:aws:s3:::reports/*", "arn:aws:s3:::reports/2026/q1.csv", True),
    ("arn:aws:s3:::Reports/*", "arn:aws:s3:::reports/x", False),  # resources are case-sensitive
    ("arn:aws:s3:::report?", "arn:aws:s3:::reports", True),
])
def test_resource_wildcards(pattern, resource, matches):
    assert resource_matches(pattern, resource) is matches


# -- admin ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("statement", "admin"), [
    (allow("*"), True),
    (allow("*:*"), True),
    (allow(["s3:GetObject", "*"]), True),
    (allow(["*"], ["arn:aws:s3:::x", "*"]), True),
    (not_action(["iam:*", "organizations:*", "account:*"]), False),  # PowerUserAccess' shape
    (not_action("iam:*"), False),
    (not_action("IAM:*"), False),  # action names are case-insensitive
    (not_action("i*"), False),  # excludes iam:* and more
    (not_action(["s3:DeleteBucket", "organizations:*"]), True),  # IAM among what remains
    (not_action("iam:Delete*"), True),  # excludes only part of IAM
    (not_action("iam:*User*"), True),
    (not_action([]), True),
    (not_action("*"), False),  # excludes everything: grants nothing
    (not_action(["iam:*"], "arn:aws:s3:::x"), False),
    ({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::secrets/*"}, True),
    (S3_READ, False),
    (allow("*", "arn:aws:s3:::reports/*"), False),
    (allow("iam:*"), False),
    (allow("s3:*"), False),
    (allow("*:Get*"), False),
    (deny(), False),
])
def test_admin_means_every_action_on_every_resource(statement, admin):
    assert verdict(doc(statement)).admin is admin


def test_admin_through_a_group_attached_managed_policy_names_the_group():
    result = analyse_permissions([
        PolicySource("user-inline", "reports", doc(S3_READ)),
        PolicySource("group-attached", "AdministratorAccess", ADMINISTRATOR_ACCESS, "admins"),
    ])
    assert result.admin
    assert result.admin_reason == (
        'attached policy "AdministratorAccess" (group "admins") allows "*" on "*"')


@pytest.mark.parametrize(("source", "label"), [
    ("user-inline", 'inline policy "ops" (user)'),
    ("user-attached", 'attached policy "ops" (user)'),
    ("group-inline", 'inline policy "ops" (group)'),
    ("group-attached", 'attached policy "ops" (group)'),
])
def test_every_policy_source_counts_the_same(source, label):
    result = analyse_permissions([PolicySource(source, "ops", ADMINISTRATOR_ACCESS)])
    assert result.admin and result.admin_reason == f'{label} allows "*" on "*"'


def test_not_action_reason_says_what_is_excluded():
    result = verdict(doc(not_action(["s3:*", "organizations:*"])))
    assert result.admin_reason == ('inline policy "p0" (user) allows every action except '
                                   '"s3:*", "organizations:*" on "*"')


def test_conditional_admin_is_still_admin():
    result = verdict(doc(allow(condition={"IpAddress": {"aws:SourceIp": OFFICE}})))
    assert result.admin and result.admin_reason.endswith("(under a condition)")
    assert result.source_restricted  # and it is confined, which is a separate question


def test_source_guard_does_not_cancel_admin():
    result = verdict(ADMINISTRATOR_ACCESS, doc(GUARD_IP))
    assert result.admin and result.source_restricted


def test_partial_deny_does_not_cancel_admin():
    assert verdict(doc(allow(), deny("iam:*"))).admin


def test_unconditional_deny_of_everything_cancels_admin():
    result = verdict(ADMINISTRATOR_ACCESS, doc(deny()))
    assert not result.admin and "denies every action" in result.admin_reason


def test_several_admin_grants_are_counted():
    result = verdict(ADMINISTRATOR_ACCESS, doc(allow("*:*")))
    assert result.admin_reason.endswith("(and 1 more)")


# -- source restriction: Deny guards -------------------------------------------------------

def guard(operator, key="aws:SourceIp", value=OFFICE, action="*", resource="*"):
    return deny(action, resource, {operator: {key: value}})


@pytest.mark.parametrize(("statement", "restricted"), [
    (GUARD_IP, True),
    (guard("NotIpAddress", "AWS:SOURCEIP"), True),  # condition keys are case-insensitive
    (guard("NotIpAddress", "aws:VpcSourceIp"), True),
    (guard("StringNotEquals", "aws:SourceVpce", VPCE), True),
    (guard("StringNotEqualsIgnoreCase", "aws:SourceVpc", "vpc-1"), True),
    (guard("StringNotLike", "aws:SourceVpce", "vpce-*"), False),  # any endpoint, anyone's
    (guard("StringNotLike", "aws:SourceVpce", "vpce-0a1b2c3d"), True),
    (guard("NotIpAddressIfExists"), True),  # no key: condition true, still denied
    (guard("StringNotEqualsIfExists", "aws:SourceVpce", VPCE), True),
    (guard("ForAllValues:StringNotEquals", "aws:SourceVpce", VPCE), True),
    (guard("ForAnyValue:StringNotEquals", "aws:SourceVpce", VPCE), False),  # no key: not denied
    (guard("NotIpAddress", action="*:*"), True),
    (guard("NotIpAddress", action=["s3:*", "*"]), True),
    (guard("NotIpAddress", action="s3:*"), False),  # SQS is granted, and not denied
    (guard("NotIpAddress", action=["s3:*", "sqs:*"]), True),  # covers both grants
    (guard("NotIpAddress", resource="arn:aws:s3:::x/*"), False),
    (guard("IpAddress"), False),  # denies *from* the office: the opposite of a guard
    (guard("StringNotEquals", "aws:PrincipalTag/team", "ops"), False),
])
def test_deny_guard(statement, restricted):
    result = verdict(doc(S3_READ, allow("sqs:SendMessage")), doc(statement))
    assert result.source_restricted is restricted, result.source_reason


def test_guard_reason_names_the_policy_and_test():
    result = verdict(doc(S3_READ), doc(GUARD_IP))
    assert result.source_reason == (
        'inline policy "p1" (user) denies every action unless NotIpAddress aws:SourceIp matches')


def test_guard_with_an_aws_service_exemption_still_counts():
    statement = deny(condition={"NotIpAddress": {"aws:SourceIp": OFFICE},
                                "Bool": {"aws:ViaAWSService": "false"}})
    assert verdict(doc(S3_READ, statement)).source_restricted


def test_guard_in_a_group_policy_counts():
    result = analyse_permissions([
        PolicySource("user-inline", "reports", doc(S3_READ)),
        PolicySource("group-inline", "office-only", doc(GUARD_IP), "staff"),
    ])
    assert result.source_restricted
    assert 'inline policy "office-only" (group "staff")' in result.source_reason


def test_narrow_guard_is_mentioned_in_the_reason():
    result = verdict(doc(S3_READ, allow("sqs:SendMessage")),
                     doc(guard("NotIpAddress", action="s3:*")))
    assert result.source_reason == (
        '1 of 2 Allow statements has no confining source condition (e.g. inline policy "p0" '
        '(user) allowing "sqs:SendMessage": no source condition); the Deny in inline policy '
        '"p1" (user) covers only some actions or resources')


def test_guard_on_exactly_the_granted_service_counts():
    result = verdict(doc(S3_READ), doc(guard("NotIpAddress", action="s3:*")))
    assert result.source_restricted
    assert result.source_reason == ('inline policy "p1" (user) denies every granted action '
                                    'unless NotIpAddress aws:SourceIp matches')


def test_loophole_guard_is_mentioned_in_the_reason():
    result = verdict(doc(S3_READ), doc(guard("ForAnyValue:StringNotEquals", "aws:SourceVpce")))
    assert "lets requests without the key through" in result.source_reason


# -- source restriction: every Allow conditioned -------------------------------------------

def on(operator, key="aws:SourceVpce", value=VPCE):
    return {operator: {key: value}}


def test_vpc_endpoint_condition_on_every_allow_restricts():
    result = verdict(doc(allow(["s3:PutObject"], "arn:aws:s3:::b/*", on("StringEquals")),
                         allow(["kms:Decrypt"], "*", on("StringEquals"))))
    assert result.source_restricted
    assert result.source_reason == "all 2 Allow statements require StringEquals aws:SourceVpce"


def test_every_allow_across_several_policies_must_be_conditioned():
    conditioned = doc(allow("s3:GetObject", "*", on("IpAddress", "aws:SourceIp", OFFICE)))
    assert verdict(conditioned, conditioned).source_restricted
    assert not verdict(conditioned, doc(S3_READ)).source_restricted


def test_condition_on_only_some_allows_does_not_restrict_and_counts_them():
    result = verdict(doc(allow(["s3:GetObject"], "arn:aws:s3:::b/*",
                               on("IpAddress", "aws:SourceIp", OFFICE)),
                         allow(["sqs:SendMessage", "sqs:ReceiveMessage"]),
                         allow("sns:Publish")))
    assert not result.source_restricted
    assert result.source_reason.startswith("2 of 3 Allow statements have no confining source "
                                           "condition")
    assert '"sqs:SendMessage", "sqs:ReceiveMessage"' in result.source_reason


@pytest.mark.parametrize(("condition", "restricted"), [
    (on("StringEquals"), True),
    (on("StringEqualsIgnoreCase"), True),
    (on("StringLike", value="vpce-*"), False),  # a wildcard names no place
    (on("StringLike", value="vpce-0a1b2c3d"), True),
    (on("IpAddress", "aws:SourceIp", OFFICE), True),
    (on("IpAddress", "aws:sourceip", OFFICE), True),
    (on("StringEquals", "aws:SourceVpc", "vpc-1"), True),
    (on("ArnEquals", "aws:SourceVpc", "vpc-1"), True),
    (on("ForAnyValue:StringEquals"), True),   # no key: false, not granted
    (on("IpAddressIfExists", "aws:SourceIp", OFFICE), False),  # no key: granted anyway
    (on("StringEqualsIfExists"), False),
    (on("ForAllValues:StringEquals"), False),  # no key: vacuously true
    (on("StringNotEquals"), False),            # a negation on an Allow confines nothing
    (on("StringEquals", "aws:PrincipalTag/team", "ops"), False),
    (None, False),
])
def test_allow_conditions(condition, restricted):
    result = verdict(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", condition)))
    assert result.source_restricted is restricted, result.source_reason


def test_if_exists_loophole_is_explained():
    result = verdict(doc(allow("s3:GetObject", "*", on("IpAddressIfExists", "aws:SourceIp",
                                                       OFFICE))))
    assert "IpAddressIfExists aws:SourceIp lets requests without the key through" in (
        result.source_reason)


def test_not_action_allow_is_an_allow_that_needs_a_condition_too():
    result = verdict(doc(not_action(["iam:*"])))
    assert not result.source_restricted
    assert 'every action except "iam:*"' in result.source_reason


# -- nothing granted -----------------------------------------------------------------------

@pytest.mark.parametrize("documents", [
    (),
    (doc(),),
    (doc(GUARD_IP),),
    (doc(deny("s3:*")),),
])
def test_no_allow_statements_means_nothing_to_confine(documents):
    result = verdict(*documents)
    assert not result.admin
    assert result.source_restricted


def test_deny_everything_unconditionally_restricts():
    result = verdict(doc(allow("s3:GetObject")), doc(deny()))
    assert result.source_restricted
    assert result.source_reason == "denies every action unconditionally"


# -- admin: grants left to AWS services ----------------------------------------------------

@pytest.mark.parametrize(("condition", "admin"), [
    ({"Bool": {"aws:IsMcpServiceAction": "true"}}, False),
    ({"Bool": {"aws:ViaAWSService": "true"}}, False),
    ({"ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}}, False),
    ({"BoolIfExists": {"aws:ViaAWSService": "true"}}, True),  # a direct call passes
    ({"Bool": {"aws:ViaAWSService": "false"}}, True),  # direct calls: still every action
    ({"StringEquals": {"aws:PrincipalOrgID": "o-example"}}, True),  # always true for it
    ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, True),  # time, not what
    ({"IpAddress": {"aws:SourceIp": OFFICE}}, True),  # place, not what
])
def test_conditions_lift_admin_only_when_they_leave_the_grant_to_aws(condition, admin):
    assert verdict(doc(allow(condition=condition))).admin is admin


def test_a_service_only_grant_says_nothing_is_granted_directly():
    result = verdict(doc(allow(condition={"Bool": {"aws:IsMcpServiceAction": "true"}})))
    assert result.admin_reason == "no Allow statement grants every action on every resource"
    assert result.source_restricted  # and it needs no source condition either


def test_not_action_admin_under_a_condition_says_so():
    statement = {**not_action(["s3:*"]), "Condition": {"IpAddress": {"aws:SourceIp": OFFICE}}}
    assert verdict(doc(statement)).admin_reason == (
        'inline policy "p0" (user) allows every action except "s3:*" on "*" '
        "(under a condition)")


def test_not_resource_admin_reason_names_the_exclusions():
    statement = {"Effect": "Allow", "Action": "*", "NotResource": ["arn:aws:s3:::a", "b"]}
    assert verdict(doc(statement)).admin_reason == (
        'inline policy "p0" (user) allows "*" on every resource except "arn:aws:s3:::a", "b"')


def test_not_resource_star_with_every_action_grants_nothing():
    statement = {"Effect": "Allow", "Action": "*", "NotResource": "*"}
    result = verdict(doc(statement))
    assert not result.admin
    assert result.source_reason == "grants no permissions"


def test_a_deny_of_everything_cancels_admin_and_says_which_policy():
    result = verdict(ADMINISTRATOR_ACCESS, doc(deny()))
    assert result.admin_reason == ('inline policy "p0" (user) allows "*" on "*", but inline '
                                   'policy "p1" (user) denies every action on every resource '
                                   'unconditionally')


def test_a_conditional_deny_of_everything_does_not_cancel_admin():
    assert verdict(ADMINISTRATOR_ACCESS, doc(GUARD_IP)).admin


# -- source: places that are not places ----------------------------------------------------

@pytest.mark.parametrize(("cidrs", "restricted"), [
    (["203.0.113.0/24"], True),
    (["0.0.0.0/0"], False),
    (["::/0"], False),  # every IPv6 address gets through the guard
    (["203.0.113.0/24", "::/0"], False),
    (["0.0.0.0/1", "128.0.0.0/1"], False),
    (["2001:db8::/32", "203.0.113.0/24"], True),
    ("*", False),
])
def test_deny_guard_values_must_name_specific_places(cidrs, restricted):
    result = verdict(doc(S3_READ), doc(deny(condition={"NotIpAddress": {"aws:SourceIp": cidrs}})))
    assert result.source_restricted is restricted, result.source_reason


def test_vague_guard_is_explained():
    result = verdict(doc(S3_READ), doc(deny(condition={
        "NotIpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}})))
    assert result.source_reason.endswith(
        '; the Deny in inline policy "p1" (user) falls short: its NotIpAddress aws:SourceIp '
        "covers every IPv4 address")


def test_one_vague_test_in_a_guard_opens_a_way_round_it():
    condition = {"NotIpAddress": {"aws:SourceIp": OFFICE},
                 "StringNotLike": {"aws:SourceVpc": "vpc-*"}}
    assert not verdict(doc(S3_READ), doc(deny(condition=condition))).source_restricted


def test_a_guard_may_allow_an_office_or_a_vpc():
    condition = {"NotIpAddressIfExists": {"aws:SourceIp": OFFICE},
                 "StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-0a1b"},
                 "BoolIfExists": {"aws:ViaAWSService": "false"}}
    result = verdict(doc(S3_READ), doc(deny(condition=condition)))
    assert result.source_restricted
    assert result.source_reason == (
        'inline policy "p1" (user) denies every action unless NotIpAddressIfExists '
        "aws:SourceIp or StringNotEqualsIfExists aws:SourceVpc matches")


def test_a_deny_narrowed_to_one_place_is_no_guard():
    condition = {"StringEquals": {"aws:SourceVpc": "vpc-0a1b"},
                 "StringNotEqualsIfExists": {"aws:SourceVpce": VPCE}}
    result = verdict(doc(S3_READ), doc(deny(condition=condition)))
    assert not result.source_restricted
    assert result.source_reason.endswith(
        'the Deny in inline policy "p1" (user) applies only when StringEquals aws:SourceVpc '
        "matches, so it guards nothing else")


@pytest.mark.parametrize(("value", "restricted"), [
    (OFFICE, True),
    (["0.0.0.0/0"], False),
    (["::/0"], False),
    (["0.0.0.0/1", "128.0.0.0/1"], False),
    (["203.0.113.7"], True),
    ("*", False),
])
def test_allow_values_must_name_specific_places(value, restricted):
    result = verdict(doc(allow("s3:GetObject", "*", on("IpAddress", "aws:SourceIp", value))))
    assert result.source_restricted is restricted


def test_vague_allow_value_is_explained():
    result = verdict(doc(allow("s3:GetObject", "*", on("StringLike", "aws:SourceVpce",
                                                       "vpce-*"))))
    assert 'its StringLike aws:SourceVpce matches any place ("vpce-*")' in result.source_reason


def test_a_second_confining_test_rescues_a_vague_one_on_an_allow():
    condition = {"IpAddressIfExists": {"aws:SourceIp": ["0.0.0.0/0"]},
                 "StringEquals": {"aws:SourceVpc": "vpc-0a1b"}}  # both must hold
    assert verdict(doc(allow("rds:*", "*", condition))).source_restricted


# -- source: each Allow confined its own way -----------------------------------------------

VIA_AWS = {"Bool": {"aws:ViaAWSService": "true"}}


def test_an_office_allow_beside_an_aws_service_allow_is_confined():
    direct = allow("s3:PutObject", "arn:aws:s3:::b/*",
                   {"Bool": {"aws:ViaAWSService": "false"}, "IpAddress": {"aws:SourceIp": OFFICE}})
    result = verdict(doc(direct, allow("s3:PutObject", "arn:aws:s3:::b/*", VIA_AWS)))
    assert result.source_restricted
    assert result.source_reason == (
        "all 2 Allow statements are confined: 1 require IpAddress aws:SourceIp; 1 only serve "
        "calls AWS makes for the user (Bool aws:ViaAWSService)")


def test_aws_service_allows_alone_are_confined():
    result = verdict(doc(allow("s3:GetObject", "*", VIA_AWS)))
    assert result.source_restricted


def test_aws_service_exemption_if_exists_is_not_service_only():
    result = verdict(doc(allow("s3:GetObject", "*", {"BoolIfExists": {"aws:ViaAWSService":
                                                                      "true"}})))
    assert not result.source_restricted


def test_guard_and_own_conditions_may_share_the_work():
    own = allow("sqs:SendMessage", "*", on("StringEquals"))
    result = verdict(doc(S3_READ, own), doc(guard("NotIpAddress", action="s3:*")))
    assert result.source_restricted
    assert result.source_reason == (
        "all 2 Allow statements are confined: 1 require StringEquals aws:SourceVpce; 1 are "
        'covered by the Deny in inline policy "p1" (user)')


@pytest.mark.parametrize(("spared", "restricted"), [
    (["es:ES*", "dax:GetItem", "neptune-db:*", "rds-db:connect"], True),  # none granted
    (["s3:GetObject"], False),  # spares a granted action
    (["s3:Get*"], False),
    (["*:Get*"], False),
    (["s3:PutObject"], True),  # spares only what is not granted
    ([], True),
])
def test_not_action_deny_guards_what_it_does_not_spare(spared, restricted):
    statement = {"Effect": "Deny", "NotAction": spared, "Resource": "*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}}
    result = verdict(doc(S3_READ), doc(statement))
    assert result.source_restricted is restricted, result.source_reason


def test_not_action_deny_reason():
    statement = {"Effect": "Deny", "NotAction": ["es:*"], "Resource": "*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}}
    assert verdict(doc(S3_READ), doc(statement)).source_reason == (
        'inline policy "p1" (user) denies every granted action unless NotIpAddress '
        "aws:SourceIp matches")


@pytest.mark.parametrize(("spared", "restricted"), [
    (["iam:*"], True),  # the Allow grants no IAM action anyway
    (["iam:Get*"], True),
    (["s3:*"], False),  # the Allow grants S3 and the Deny spares it
])
def test_not_action_deny_against_a_not_action_allow(spared, restricted):
    statement = {"Effect": "Deny", "NotAction": spared, "Resource": "*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}}
    result = verdict(doc(not_action(["iam:*"])), doc(statement))
    assert result.source_restricted is restricted


def test_a_listed_action_deny_cannot_cover_a_not_action_allow():
    result = verdict(doc(not_action(["iam:*"])), doc(guard("NotIpAddress", action="s3:*")))
    assert not result.source_restricted


@pytest.mark.parametrize(("deny_resource", "restricted"), [
    ("arn:aws:s3:::reports/*", True),  # exactly what is granted
    ("arn:aws:s3:::*", True),
    ("arn:aws:s3:::Reports/*", False),  # ARNs are case-sensitive
    ("arn:aws:s3:::other/*", False),
])
def test_a_guard_on_the_granted_resources_covers_them(deny_resource, restricted):
    result = verdict(doc(S3_READ), doc(guard("NotIpAddress", resource=deny_resource)))
    assert result.source_restricted is restricted


def test_a_not_resource_deny_is_no_guard():
    statement = {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::x",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}}
    assert not verdict(doc(S3_READ), doc(statement)).source_restricted


def test_conditions_on_time_or_identity_confine_no_place():
    condition = {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                 "Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert not verdict(doc(allow("s3:GetObject", "*", condition))).source_restricted


# -- malformed documents never crash and never hide a risk ---------------------------------

@pytest.mark.parametrize("document", [
    {"Statement": 42},
    {"Statement": None},
    {"Statement": "Allow everything"},
    {"Statement": [42, None, "x"]},
    {"Version": "2012-10-17"},
    b"\xff\xfe not utf-8 \x80",
    "%7B%22Statement%22%3A",  # URL-encoded, cut short
])
def test_documents_of_the_wrong_shape_grant_nothing(document):
    result = verdict(document)
    assert not result.admin and not result.escalation
    assert result.source_reason == "grants no permissions"


def test_bytes_that_are_not_utf8_are_decoded_with_replacement():
    raw = json.dumps(ADMINISTRATOR_ACCESS).encode() + b"\xff"
    assert decode_document(raw) == {}  # the replacement char makes it invalid JSON
    named = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "caf\xe9", "Effect": "Allow", "Action": "*", "Resource": "*"}]},
        ensure_ascii=False)
    latin1 = named.encode("latin-1")  # \xe9 alone is not UTF-8
    assert decode_document(latin1)["Statement"][0]["Sid"] == "caf\ufffd"
    assert verdict(latin1).admin


def test_junk_before_a_valid_statement_does_not_hide_it():
    junk = [42, {"Effect": "Permit", "Action": "*", "Resource": "*"}, None]
    assert verdict({"Statement": [*junk, allow()]}).admin


def test_junk_before_a_guard_does_not_hide_it():
    junk = [42, {"Effect": "Maybe"}]
    assert verdict(doc(S3_READ), {"Statement": [*junk, GUARD_IP]}).source_restricted


@pytest.mark.parametrize("condition", [["IpAddress"], "aws:SourceIp", 7])
def test_an_allow_with_a_malformed_condition_grants_as_if_unconditioned(condition):
    result = verdict(doc({**allow(), "Condition": condition}))
    assert result.admin and result.admin_reason.endswith("(under a condition)")
    assert not result.source_restricted


@pytest.mark.parametrize("condition", [
    ["NotIpAddress"],
    "junk",
    {"Bool": "junk", "NotIpAddress": {"aws:SourceIp": OFFICE}},
])
def test_a_deny_with_a_malformed_condition_is_never_taken_as_protection(condition):
    malformed = {**deny(), "Condition": condition}
    assert verdict(ADMINISTRATOR_ACCESS, doc(malformed)).admin
    assert not verdict(doc(S3_READ), doc(malformed)).source_restricted


def test_a_malformed_block_before_a_source_test_on_an_allow_is_skipped():
    condition = {"Bool": "junk", "StringEquals": {"aws:PrincipalTag/team": "ops",
                                                  "aws:SourceVpce": VPCE}}
    assert verdict(doc(allow("s3:GetObject", "*", condition))).source_restricted


def test_non_string_actions_and_resources_are_dropped():
    assert not verdict(doc(allow([42, None], ["*"]))).admin
    assert verdict(doc(allow([42, "*"], "*"))).admin
    assert not verdict(doc(allow("*", {"arn": "*"}))).admin


def test_star_colon_star_colon_star_matches_no_action():
    result = verdict(doc(allow("*:*:*")))
    assert not result.admin and not result.escalation


# -- exposure --------------------------------------------------------------------------------

QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"


@pytest.mark.parametrize(("source", "arn", "found"), [
    ("user-attached", QUARANTINE, True),
    ("user-attached", QUARANTINE + "V2", True),
    ("group-attached", QUARANTINE + "V3", True),
    ("user-attached", QUARANTINE + "V12", True),  # later versions too
    ("user-attached", QUARANTINE + "V", False),
    ("user-attached", QUARANTINE + "V2-copy", False),
    ("user-attached", "arn:aws:iam::123456789012:policy/AWSCompromisedKeyQuarantineV2", False),
    ("user-inline", QUARANTINE + "V2", False),  # an inline policy has no ARN of AWS's
    ("user-attached", "", False),
])
def test_quarantine_is_aws_own_policy_on_the_user_or_a_group(source, arn, found):
    policy = PolicySource(source, "AWSCompromisedKeyQuarantineV2", {}, arn=arn)
    assert (quarantine_policy([PolicySource("user-inline", "x", {}), policy]) is policy) is found
