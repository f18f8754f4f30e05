"""The judgement modules' tables and properties, entry by entry.

``make mutation`` cannot change what mutmut does not mutate: module-level tables (the
escalation paths, the condition operators and keys, the policy labels, the thresholds) and
decorated functions (properties, cached properties, the cached regex). These tests pin them
instead, each entry spelled out here rather than read back from the module, so removing or
changing one fails a test.
"""

import pytest

from governance.iam_conditions import Operator, SourceTest, aws_service_only, source_tests
from governance.iam_escalation import ESCALATION_ACTIONS, PASS_ROLE_PARTNERS
from governance.iam_policy import PolicySource, analyse_permissions
from governance.iam_statements import Statement
from governance.iam_wildcards import action_matches, resource_matches
from governance.policy import DEFAULT_THRESHOLDS, Thresholds

OFFICE = "203.0.113.0/24"


def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", condition=None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


def verdict(*statements):
    return analyse_permissions([PolicySource("user-inline", "p", doc(*statements))])


# -- PRIVILEGE_ESCALATION: DESIGN.md's paths, in its order ------------------------------------

DESIGN_SINGLE_ACTIONS = [
    "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AttachGroupPolicy", "iam:PutGroupPolicy",
    "iam:AddUserToGroup", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
]
DESIGN_PASS_ROLE_PARTNERS = [
    "ec2:RunInstances", "lambda:CreateFunction", "cloudformation:CreateStack",
    "glue:CreateDevEndpoint", "datapipeline:CreatePipeline", "ecs:RunTask",
    "sagemaker:CreateNotebookInstance", "codebuild:CreateProject",
]


def test_the_escalation_paths_are_designs_lists_in_its_order():
    assert list(ESCALATION_ACTIONS) == DESIGN_SINGLE_ACTIONS
    assert list(PASS_ROLE_PARTNERS) == DESIGN_PASS_ROLE_PARTNERS


def test_the_first_path_named_is_the_first_in_designs_order():
    every_path = allow(list(reversed(DESIGN_SINGLE_ACTIONS)))
    assert verdict(every_path).escalation_reason == (
        'can make itself admin: iam:AttachUserPolicy, from inline policy "p" (user) '
        "(and 12 more)")
    every_partner = allow(["iam:PassRole", *reversed(DESIGN_PASS_ROLE_PARTNERS)])
    assert verdict(every_partner).escalation_reason == (
        'can make itself admin: iam:PassRole with ec2:RunInstances, from inline policy "p" '
        "(user) (and 7 more)")


@pytest.mark.parametrize("action", [
    "iam:CreateUser", "iam:DetachUserPolicy", "iam:DeleteUserPolicy", "iam:TagUser",
    "iam:GetPolicyVersion", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:PassRole",
    "sts:AssumeRole",
])
def test_iam_actions_off_the_list_are_no_path(action):
    assert not verdict(allow(action)).escalation


@pytest.mark.parametrize("partner", ["ec2:StartInstances", "lambda:InvokeFunction",
                                     "cloudformation:DescribeStacks", "s3:PutObject"])
def test_pass_role_with_an_action_off_the_list_is_no_path(partner):
    assert not verdict(allow(["iam:PassRole", partner])).escalation


# -- conditions: which keys and operators count ----------------------------------------------

@pytest.mark.parametrize(("key", "value", "confines"), [
    ("aws:SourceIp", OFFICE, True),
    ("AWS:SOURCEIP", OFFICE, True),
    ("aws:VpcSourceIp", OFFICE, True),
    ("aws:SourceVpce", "vpce-0a1b", True),
    ("aws:SourceVpc", "vpc-0a1b", True),
    ("aws:SourceArn", "arn:aws:s3:::b", False),  # which resource, not which place
    ("aws:SourceAccount", "123456789012", False),
    ("aws:SourceOrgID", "o-example", False),
    ("aws:PrincipalTag/site", "office", False),
])
def test_the_source_keys(key, value, confines):
    assert verdict(allow("s3:GetObject", "*", {"StringEquals": {key: value}}))\
        .source_restricted is confines


@pytest.mark.parametrize(("key", "every_ipv4_is_vague"), [
    ("aws:SourceIp", True), ("aws:VpcSourceIp", True),
    ("aws:SourceVpc", False), ("aws:SourceVpce", False),  # ids, not addresses
])
def test_only_address_keys_read_their_values_as_cidrs(key, every_ipv4_is_vague):
    condition = {"StringEquals": {key: "0.0.0.0/0"}}
    assert verdict(allow("s3:GetObject", "*", condition)).source_restricted is (
        not every_ipv4_is_vague)


@pytest.mark.parametrize(("operator", "key", "confines"), [
    ("IpAddress", "aws:SourceIp", True),
    ("StringEquals", "aws:SourceVpce", True),
    ("StringEqualsIgnoreCase", "aws:SourceVpce", True),
    ("StringLike", "aws:SourceVpce", True),
    ("ArnEquals", "aws:SourceVpc", True),
    ("ArnLike", "aws:SourceVpc", True),
    ("stringequals", "aws:SourceVpce", True),  # operator names are case-insensitive
    ("NotIpAddress", "aws:SourceIp", False),
    ("StringNotEquals", "aws:SourceVpce", False),
    ("ArnNotEquals", "aws:SourceVpc", False),
    ("NumericEquals", "aws:SourceVpce", False),
    ("Bool", "aws:SourceVpce", False),
    ("Null", "aws:SourceVpce", False),
])
def test_the_operators_that_confine_an_allow(operator, key, confines):
    value = OFFICE if key == "aws:SourceIp" else "vpce-0a1b"
    assert verdict(allow("s3:GetObject", "*", {operator: {key: value}}))\
        .source_restricted is confines


@pytest.mark.parametrize(("operator", "guards"), [
    ("NotIpAddress", True),
    ("StringNotEquals", True),
    ("StringNotEqualsIgnoreCase", True),
    ("StringNotLike", True),
    ("ArnNotEquals", False),  # not a negation Keyledger reads
    ("ArnNotLike", False),
    ("StringEquals", False),
    ("Bool", False),
])
def test_the_operators_that_make_a_deny_a_guard(operator, guards):
    key, value = ("aws:SourceIp", OFFICE) if "Ip" in operator else ("aws:SourceVpc", "vpc-1")
    guard = {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {operator: {key: value}}}
    assert verdict(allow("s3:GetObject"), guard).source_restricted is guards


@pytest.mark.parametrize(("condition", "only"), [
    ({"Bool": {"aws:ViaAWSService": "true"}}, "Bool aws:ViaAWSService"),
    ({"Bool": {"aws:IsMcpServiceAction": "true"}}, "Bool aws:IsMcpServiceAction"),
    ({"Bool": {"aws:PrincipalIsAWSService": "true"}}, ""),  # not on the list
    ({"Bool": {"aws:SecureTransport": "true"}}, ""),
    ({"StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}}, "StringEquals aws:CalledVia"),
    ({"StringEqualsIgnoreCase": {"aws:CalledViaFirst": "athena.amazonaws.com"}},
     "StringEqualsIgnoreCase aws:CalledViaFirst"),
    ({"StringLike": {"aws:CalledViaLast": "*.amazonaws.com"}},
     "StringLike aws:CalledViaLast"),
    ({"ForAnyValue:StringLike": {"AWS:CALLEDVIA": "*"}}, "ForAnyValue:StringLike AWS:CALLEDVIA"),
    ({"Null": {"aws:CalledViaLast": "false"}}, "Null aws:CalledViaLast"),
    ({"StringNotLike": {"aws:CalledVia": "x"}}, ""),
    ({"ArnEquals": {"aws:CalledVia": "athena.amazonaws.com"}}, ""),
    ({"StringEquals": {"aws:CalledViaSomething": "athena.amazonaws.com"}}, ""),
])
def test_the_keys_only_aws_sets_for_calls_it_makes_for_the_user(condition, only):
    assert aws_service_only(condition) == only


@pytest.mark.parametrize(("name", "qualifier"), [
    ("ForAllValues:StringEquals", "forallvalues:"),
    ("FORANYVALUE:StringEquals", "foranyvalue:"),
    ("ForAnyValues:StringEquals", ""),  # a misspelt qualifier is part of an unknown operator
    ("StringEquals", ""),
])
def test_the_set_qualifiers(name, qualifier):
    assert Operator.parse(name).qualifier == qualifier


def test_a_misspelt_qualifier_makes_no_source_test():
    assert source_tests({"ForAnyValues:StringEquals": {"aws:SourceVpce": "vpce-1"}}) == []


# -- one source test's properties ------------------------------------------------------------

@pytest.mark.parametrize(
    ("operator", "values", "negated", "holds_absent_key", "vague", "weakness"), [
        ("IpAddress", (OFFICE,), False, True, "", ""),
        ("IpAddressIfExists", (OFFICE,), False, False, "",
         "its IpAddressIfExists aws:SourceIp lets requests without the key through"),
        ("IpAddress", ("0.0.0.0/0",), False, True, "covers every IPv4 address",
         "its IpAddress aws:SourceIp covers every IPv4 address"),
        ("IpAddress", (), False, True, "has no value", "its IpAddress aws:SourceIp has no value"),
        ("NotIpAddress", (OFFICE,), True, True, "", ""),
        ("ForAnyValue:NotIpAddress", ("10.*",), True, False, 'matches any place ("10.*")',
         "its ForAnyValue:NotIpAddress aws:SourceIp lets requests without the key through"),
        ("ForAllValues:IpAddress", (OFFICE,), False, False, "",
         "its ForAllValues:IpAddress aws:SourceIp lets requests without the key through"),
    ])
def test_a_source_tests_properties(operator, values, negated, holds_absent_key, vague,
                                   weakness):
    test = SourceTest(Operator.parse(operator), "aws:SourceIp", values)
    assert (test.negated, test.holds_absent_key, test.vague, test.weakness) == (
        negated, holds_absent_key, vague, weakness)
    assert test.confines is (not weakness)
    assert str(test) == f"{operator} aws:SourceIp"


# -- one statement's properties --------------------------------------------------------------

def statement(actions=(), not_actions=None, resources=(), not_resources=None,
              condition=None, malformed=False, effect="allow") -> Statement:
    return Statement(PolicySource("user-inline", "p", {}), effect, tuple(actions),
                     not_actions, tuple(resources), not_resources, condition or {}, malformed)


@pytest.mark.parametrize(
    ("fields", "all_actions", "all_resources", "resource_wide", "grants_nothing"), [
        (dict(actions=["*"], resources=["*"]), True, True, True, False),
        (dict(actions=["s3:GetObject", "*:*"], resources=["arn:x", " * "]), True, True, True,
         False),
        (dict(actions=["s3:*"], resources=["*"]), False, True, True, False),
        (dict(actions=["*"], resources=["arn:aws:s3:::b/*"]), True, False, False, False),
        (dict(actions=[], resources=["*"]), False, True, True, True),
        (dict(actions=["*"], resources=[]), True, False, False, True),
        (dict(not_actions=("*",), resources=["*"]), False, True, True, True),
        (dict(not_actions=("*:*",), resources=["*"]), False, True, True, True),
        (dict(not_actions=(), resources=["*"]), False, True, True, False),
        (dict(not_actions=("iam:*",), resources=[]), False, False, False, True),
        (dict(actions=["*"], not_actions=("s3:*",), resources=["*"]), False, True, True, False),
        (dict(actions=["*"], not_resources=("*",)), True, False, False, True),
        (dict(actions=["*"], not_resources=("arn:x", "**")), True, False, False, True),
        (dict(actions=["*"], not_resources=("arn:aws:s3:::vault/*",)), True, False, True,
         False),
        (dict(actions=["*"], not_resources=()), True, False, True, False),
        (dict(actions=["*"], resources=["*"], not_resources=("arn:x",)), True, False, True,
         False),
        (dict(not_actions=("s3:*",), not_resources=("*",)), False, False, False, True),
    ])
def test_what_a_statement_covers(fields, all_actions, all_resources, resource_wide,
                                 grants_nothing):
    st = statement(**fields)
    assert (st.all_actions, st.all_resources, st.resource_wide, st.grants_nothing) == (
        all_actions, all_resources, resource_wide, grants_nothing)


@pytest.mark.parametrize(("condition", "malformed", "conditional", "service_only"), [
    ({}, False, False, ""),
    ({}, True, True, ""),
    ({"IpAddress": {"aws:SourceIp": OFFICE}}, False, True, ""),
    ({"Bool": {"aws:ViaAWSService": "true"}}, False, True, "Bool aws:ViaAWSService"),
])
def test_whether_a_statement_is_conditional(condition, malformed, conditional, service_only):
    st = statement(actions=["*"], resources=["*"], condition=condition, malformed=malformed)
    assert (st.conditional, st.service_only) == (conditional, service_only)


@pytest.mark.parametrize(("fields", "action", "matches"), [
    (dict(actions=["iam:*"]), "iam:PassRole", True),
    (dict(actions=["iam:*"]), "s3:GetObject", False),
    (dict(actions=["s3:GetObject", "IAM:PASSROLE"]), "iam:PassRole", True),
    (dict(actions=[]), "iam:PassRole", False),
    (dict(not_actions=("s3:*",)), "iam:PassRole", True),
    (dict(not_actions=("s3:*", "iam:Pass*")), "iam:PassRole", False),
    (dict(not_actions=()), "iam:PassRole", True),
])
def test_whether_a_statement_names_an_action(fields, action, matches):
    assert statement(**fields).matches_action(action) is matches


@pytest.mark.parametrize(("fields", "pattern", "covers"), [
    (dict(actions=["iam:*"]), "iam:*", True),
    (dict(actions=["iam:*"]), "iam:Put*", True),
    (dict(actions=["iam:Put*"]), "iam:*", False),
    (dict(actions=["s3:*", "*"]), "iam:*", True),
    (dict(actions=[]), "iam:*", False),
    (dict(not_actions=("s3:*",)), "iam:*", True),
    (dict(not_actions=("s3:*", "iam:Get*")), "iam:*", False),  # spares part of IAM
    (dict(not_actions=("s3:*", "iam:Get*")), "iam:Put*", True),
    (dict(not_actions=()), "iam:*", True),
])
def test_whether_a_statement_names_every_action_of_a_pattern(fields, pattern, covers):
    assert statement(**fields).covers_pattern(pattern) is covers


@pytest.mark.parametrize(("source", "group", "label"), [
    ("user-inline", "", 'inline policy "ops" (user)'),
    ("user-attached", "", 'attached policy "ops" (user)'),
    ("group-inline", "admins", 'inline policy "ops" (group "admins")'),
    ("group-attached", "admins", 'attached policy "ops" (group "admins")'),
    ("group-inline", "", 'inline policy "ops" (group)'),
    ("role-inline", "", 'policy "ops" (role-inline)'),
])
def test_how_a_policy_is_named(source, group, label):
    assert PolicySource(source, "ops", {}, group).label == label


# -- wildcards: matching a name --------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "action", "matches"), [
    ("S3:GETOBJECT", "s3:GetObject", True),  # plain names, case-insensitive
    ("S3:get*", "s3:GetObject", True),  # patterns, case-insensitive
    ("s3:Get.bject", "s3:GetXbject", False),  # regex characters are literals
    ("s3:Get.b*", "s3:GetXbject", False),
    ("s3:Get.b*", "s3:Get.bject", True),
    ("s3:(Get)*", "s3:GetObject", False),
    ("a+*", "aa", False),
    ("s3:?", "s3:\n", True),  # ? is any one character, a newline too
])
def test_action_matching(pattern, action, matches):
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(("pattern", "resource", "matches"), [
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x\ny", True),  # * runs over newlines
    ("arn:aws:s3:::B/*", "arn:aws:s3:::b/x", False),  # ARNs are case-sensitive
    ("arn:aws:s3:::B/x", "arn:aws:s3:::b/x", False),
    ("arn:aws:s3:::b/x", "arn:aws:s3:::b/x", True),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/x", True),
    ("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/1", False),
])
def test_resource_matching(pattern, resource, matches):
    assert resource_matches(pattern, resource) is matches


# -- thresholds ------------------------------------------------------------------------------

def test_default_thresholds_are_designs():
    design = Thresholds(rotation_max_days=90, rotation_warning_days=14, unused_days=45,
                        evidence_days=30)
    assert design == DEFAULT_THRESHOLDS
