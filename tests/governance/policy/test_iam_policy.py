"""IAM policy semantics behind ADMIN_PRIVILEGE and NO_SOURCE_RESTRICTION."""

import json
from urllib.parse import quote

import pytest

from governance.iam_policy import (
    PolicySource,
    action_matches,
    analyse_permissions,
    decode_document,
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
    (not_action(["iam:*", "organizations:*", "account:*"]), True),
    (not_action("iam:*"), True),
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
    result = verdict(doc(not_action(["iam:*", "organizations:*"])))
    assert result.admin_reason == ('inline policy "p0" (user) allows every action except '
                                   '"iam:*", "organizations:*" on "*"')


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
    (guard("StringNotLike", "aws:SourceVpce", "vpce-*"), True),
    (guard("NotIpAddressIfExists"), True),  # no key: condition true, still denied
    (guard("StringNotEqualsIfExists", "aws:SourceVpce", VPCE), True),
    (guard("ForAllValues:StringNotEquals", "aws:SourceVpce", VPCE), True),
    (guard("ForAnyValue:StringNotEquals", "aws:SourceVpce", VPCE), False),  # no key: not denied
    (guard("NotIpAddress", action="*:*"), True),
    (guard("NotIpAddress", action=["s3:*", "*"]), True),
    (guard("NotIpAddress", action="s3:*"), False),  # a guard on S3 only is not a guard
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
    result = verdict(doc(S3_READ), doc(guard("NotIpAddress", action="s3:*")))
    assert "covers only some actions" in result.source_reason


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
    (on("StringLike", value="vpce-*"), True),
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
