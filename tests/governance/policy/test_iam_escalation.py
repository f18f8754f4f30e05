"""PRIVILEGE_ESCALATION: a user that is not admin but is allowed a known path to admin."""

import pytest

from governance.iam_escalation import ESCALATION_ACTIONS, PASS_ROLE_PARTNERS
from governance.iam_policy import PolicySource, analyse_permissions


def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", condition=None, **extra) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if condition:
        statement["Condition"] = condition
    return statement


def deny(action, resource="*", condition=None) -> dict:
    statement = {"Effect": "Deny", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def verdict(*statements):
    return analyse_permissions([PolicySource("user-inline", "p", doc(*statements))])


@pytest.mark.parametrize("action", ESCALATION_ACTIONS)
def test_every_single_action_path_is_escalation(action):
    result = verdict(allow(action))
    assert result.escalation and not result.admin
    assert result.escalation_reason == (
        f'can make itself admin: {action}, from inline policy "p" (user)')


@pytest.mark.parametrize("partner", PASS_ROLE_PARTNERS)
def test_pass_role_with_each_partner_is_escalation(partner):
    result = verdict(allow(["iam:PassRole", partner]))
    assert result.escalation_reason == (
        f'can make itself admin: iam:PassRole with {partner}, from inline policy "p" (user)')


@pytest.mark.parametrize("partner", PASS_ROLE_PARTNERS)
def test_a_partner_without_pass_role_is_not_escalation(partner):
    assert not verdict(allow(partner)).escalation


def test_pass_role_alone_is_not_escalation():
    assert not verdict(allow("iam:PassRole")).escalation


def test_the_path_may_be_split_across_policies_and_both_are_named():
    result = analyse_permissions([
        PolicySource("group-inline", "deploy-tools", doc(allow("iam:PassRole")), "ci"),
        PolicySource("user-attached", "compute", doc(allow("ec2:*"))),
    ])
    assert result.escalation_reason == (
        'can make itself admin: iam:PassRole with ec2:RunInstances, from inline policy '
        '"deploy-tools" (group "ci") and attached policy "compute" (user)')


@pytest.mark.parametrize(("action", "path"), [
    ("iam:*", "iam:*"),
    ("IAM:*", "iam:*"),
    ("iam:Put*", "iam:PutUserPolicy"),
    ("iam:*Policy", "iam:AttachUserPolicy"),
    ("iam:?ttachUserPolicy", "iam:AttachUserPolicy"),
    ("iam:Create*", "iam:CreatePolicyVersion"),
    ("iam:Update*", "iam:UpdateAssumeRolePolicy"),
])
def test_wildcards_count(action, path):
    assert verdict(allow(action)).escalation_reason.startswith(
        f"can make itself admin: {path}, from")


def test_several_paths_are_counted():
    result = verdict(allow(["iam:CreateAccessKey", "iam:CreateLoginProfile"]))
    assert result.escalation_reason == ('can make itself admin: iam:CreateAccessKey, from '
                                        'inline policy "p" (user) (and 1 more)')


@pytest.mark.parametrize("statement", [
    allow("iam:Get*"),
    allow("iam:List*"),
    allow(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles"]),
    allow("iam:PutUserPolicy", "arn:aws:iam::123456789012:user/ci"),  # not on every resource
    allow("iam:PutUserPolicy", condition={"Bool": {"aws:ViaAWSService": "true"}}),
    {"Effect": "Allow", "Action": "iam:PutUserPolicy", "NotResource": "*"},
    {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    allow("s3:*"),
])
def test_not_a_path(statement):
    result = verdict(statement)
    assert not result.escalation and result.escalation_reason == ""


def test_not_resource_is_every_resource_but_a_few():
    statement = {"Effect": "Allow", "Action": "iam:PutUserPolicy",
                 "NotResource": "arn:aws:iam::123456789012:user/root-like"}
    assert verdict(statement).escalation


def test_conditions_do_not_lift_a_path():
    result = verdict(allow("iam:AttachUserPolicy",
                           condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    assert result.escalation


def test_not_action_that_leaves_iam_paths_is_escalation_not_admin():
    # Everything but IAM's read actions: IAM's write actions remain.
    statement = {"Effect": "Allow", "NotAction": ["iam:Get*", "iam:List*"], "Resource": "*"}
    result = verdict(statement)
    assert result.admin and not result.escalation  # it leaves iam:*: that is admin


def test_power_user_shape_is_neither_admin_nor_escalation():
    statement = {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"],
                 "Resource": "*"}
    result = verdict(statement, allow(["iam:CreateServiceLinkedRole", "iam:ListRoles"]))
    assert not result.admin and not result.escalation


def test_power_user_plus_pass_role_is_escalation():
    statement = {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
    result = verdict(statement, allow("iam:PassRole"))
    assert not result.admin
    assert result.escalation_reason == ('can make itself admin: iam:PassRole with '
                                        'ec2:RunInstances, from inline policy "p" (user) '
                                        '(and 7 more)')


@pytest.mark.parametrize(("denied", "escalation"), [
    (deny("iam:PassRole"), False),
    (deny("iam:*"), False),
    (deny("ec2:*"), False),
    (deny("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*"), True),  # not every resource
    (deny("iam:PassRole", condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}), True),
    ({"Effect": "Deny", "NotAction": "iam:PassRole", "Resource": "*"}, False),  # denies ec2
])
def test_only_an_unconditional_deny_on_every_resource_removes_an_action(denied, escalation):
    assert verdict(allow(["iam:PassRole", "ec2:RunInstances"]), denied).escalation is escalation


def test_an_admin_is_not_also_reported_as_escalation():
    result = verdict(allow("*"))
    assert result.admin and not result.escalation and result.escalation_reason == ""


def test_admin_cancelled_by_a_deny_of_everything_has_no_path_either():
    result = verdict(allow("*"), deny("*"))
    assert not result.admin and not result.escalation
