"""The least-privilege suggestion (``governance.least_privilege``): exactly the observed
actions, grouped by service, confined by the declared sources' guard, and judged by the
analyser ``check_policy`` uses: source-restricted and not admin."""

import pytest

from governance.least_privilege import (
    RESOURCE_NOTE,
    SUGGESTED_NAME,
    allow_statements,
    suggest,
)
from governance.policy_input import verdict_fields
from governance.sources import deny_guard, parse_sources

OFFICE = parse_sources(["203.0.113.0/24", "vpce-0123456789abcdef0"])
OBSERVED = ["s3:PutObject", "s3:GetObject", "ec2:DescribeInstances", "s3:GetObject",
            "elasticloadbalancing:DescribeTargetGroups", "(other)", "s3:Get Object"]


def test_one_allow_per_service_with_exactly_the_observed_actions():
    statements, skipped = allow_statements(OBSERVED)
    assert statements == [
        {"Sid": "AllowEc2", "Effect": "Allow", "Action": ["ec2:DescribeInstances"],
         "Resource": "*"},
        {"Sid": "AllowElasticloadbalancing", "Effect": "Allow",
         "Action": ["elasticloadbalancing:DescribeTargetGroups"], "Resource": "*"},
        {"Sid": "AllowS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": "*"},
    ]
    assert skipped == ("(other)", "s3:Get Object")


@pytest.mark.parametrize(("service", "sid"), [("s3", "AllowS3"), ("sso-oidc", "AllowSsoOidc"),
                                              ("iam", "AllowIam")])
def test_statement_ids_are_letters_and_digits(service, sid):
    statements, _ = allow_statements([f"{service}:ListThings"])
    assert statements[0]["Sid"] == sid


@pytest.mark.parametrize("value", ["s3:", ":GetObject", "S3:GetObject", "s3:Get*",
                                   "s3:GetObject\n", "s3"])
def test_what_is_not_an_iam_action_is_left_out(value):
    assert allow_statements([value]) == ([], (value,))


def test_the_suggestion_is_confined_and_not_admin():
    suggestion = suggest(OBSERVED, OFFICE)
    assert suggestion.policy["Version"] == "2012-10-17"
    assert suggestion.policy["Statement"][-1] == deny_guard(OFFICE)
    assert suggestion.actions == 4
    assert suggestion.skipped == ("(other)", "s3:Get Object")
    fields = verdict_fields(suggestion.verdict)
    assert fields["source_restricted"] is True and fields["admin"] is False
    assert fields["escalation"] is False
    assert f'inline policy "{SUGGESTED_NAME}" (user) denies every action unless' in \
        fields["reasons"]["source"]


def test_without_declared_sources_there_is_no_guard_and_the_verdict_says_so():
    suggestion = suggest(["s3:GetObject"], [])
    assert [st["Effect"] for st in suggestion.policy["Statement"]] == ["Allow"]
    assert not suggestion.verdict.source_restricted


def test_an_escalation_path_the_key_used_is_reported_not_hidden():
    suggestion = suggest(["iam:PutUserPolicy"], OFFICE)
    assert suggestion.verdict.escalation and not suggestion.verdict.admin


def test_nothing_observed_grants_nothing():
    suggestion = suggest([], OFFICE)
    assert suggestion.actions == 0
    assert [st["Effect"] for st in suggestion.policy["Statement"]] == ["Deny"]
    assert suggestion.verdict.source_restricted and not suggestion.verdict.admin


def test_the_note_says_to_narrow_resources():
    assert "Narrow each statement to the ARNs" in RESOURCE_NOTE
