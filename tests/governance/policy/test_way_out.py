"""Each key's way out at every rule and boundary: pure facts in, a path and evidence out."""

import ipaddress
import json
from dataclasses import replace

import pytest

from governance.way_out import (
    BITBUCKET,
    CIRCLECI,
    GITHUB_ACTIONS,
    GITLAB,
    Address,
    Assignment,
    Path,
    WayOut,
    WayOutFacts,
    available_alternatives,
    ci_system_of,
    is_aws_address,
    oidc_trust_policy,
    oidc_trust_policy_json,
    recommend,
)

PROD = "222222222222"
DEV = "333333333333"
OWNER = "jane.doe@example.com"
AWS_RANGE = ipaddress.ip_network("3.80.0.0/12")


def key(**overrides) -> WayOutFacts:
    """A key with no evidence at all; each test adds the facts it is about."""
    return replace(WayOutFacts(account_id=PROD, account_name="prod", owner_email=OWNER,
                               identity_center_user=True, oidc_issuers=()), **overrides)


def human(**overrides) -> WayOutFacts:
    return key(open_codes=frozenset({"HUMAN_USER_KEY", "UNUSED"}), **overrides)


A_PERSON = "The key belongs to a person (the user also signs in to the console)."


# --- a person's key -> Identity Center ---------------------------------------------------------

def test_a_person_with_an_assignment_is_told_to_sign_in_with_their_permission_set():
    way_out = recommend(human(assignments=(Assignment(PROD, "Developer"),
                                           Assignment(DEV, "Admin"))))

    assert way_out.path == Path.IDENTITY_CENTER
    assert way_out.permission_sets == ("Developer",)
    assert way_out.evidence[-1] == ("You already have the `Developer` permission set on prod "
                                    f"({PROD}) through Identity Center: use `aws sso login` "
                                    "and deactivate this key.")


def test_several_permission_sets_on_the_account_are_all_named_once_in_order():
    way_out = recommend(human(assignments=(Assignment(PROD, "ReadOnly"),
                                           Assignment(PROD, "Developer"),
                                           Assignment(PROD, "ReadOnly"))))

    assert way_out.permission_sets == ("Developer", "ReadOnly")
    assert "`Developer`, `ReadOnly` permission sets on prod" in way_out.evidence[-1]


def test_a_person_assigned_only_elsewhere_is_told_to_ask_for_this_account():
    way_out = recommend(human(assignments=(Assignment(DEV, "Developer"),)))

    assert way_out.path == Path.IDENTITY_CENTER
    assert way_out.permission_sets == ()
    assert way_out.evidence == (A_PERSON, (
        f"{OWNER} has an Identity Center user but no assignment to prod ({PROD}): ask for a "
        "permission set on it, then use `aws sso login`."))


def test_a_person_without_an_identity_center_user_is_told_to_ask_for_one():
    way_out = recommend(human(identity_center_user=False))

    assert way_out.path == Path.IDENTITY_CENTER
    assert way_out.evidence == (A_PERSON, (
        f"{OWNER} has no IAM Identity Center user: ask your administrator for one with an "
        f"assignment to prod ({PROD})."))


def test_identity_center_not_read_says_so_rather_than_guessing():
    way_out = recommend(human(identity_center_user=None,
                              assignments=(Assignment(PROD, "Developer"),)))

    assert way_out.path == Path.IDENTITY_CENTER
    assert way_out.evidence == (A_PERSON, (
        "Identity Center was not read (no Identity Center reader configured): ask your "
        f"administrator for an assignment to prod ({PROD}), then use `aws sso login`."))
    assert way_out.permission_sets == ()


def test_an_ownerless_persons_key_asks_for_an_owner_first():
    way_out = recommend(human(owner_email="", identity_center_user=None))

    assert way_out.path == Path.IDENTITY_CENTER
    assert way_out.evidence == (A_PERSON, (
        "The key has no owner yet, so Identity Center was not checked: assign an owner to see "
        "whether they can sign in instead."))


def test_a_registration_for_local_development_is_a_persons_key_too():
    way_out = recommend(key(purpose_category="local_development",
                            assignments=(Assignment(PROD, "Developer"),)))

    assert way_out.path == Path.IDENTITY_CENTER
    assert way_out.evidence[0] == "The key is registered for local development: a person's key."


def test_a_person_wins_over_ci_agents_and_aws_addresses():
    way_out = recommend(human(user_agents=("aws-cli/2 github-actions",),
                              addresses=(Address("lambda.amazonaws.com", True),)))

    assert way_out.path == Path.IDENTITY_CENTER


def test_the_account_id_alone_names_an_account_without_a_name():
    way_out = recommend(human(account_name="", assignments=(Assignment(PROD, "Dev"),)))

    assert f"on {PROD} through" in way_out.evidence[-1]


# --- a CI key -> OIDC federation ---------------------------------------------------------------

@pytest.mark.parametrize(("agent", "system"), [
    ("configure-aws-credentials-for-github-actions", GITHUB_ACTIONS),
    ("aws-cli/2.15 md/GitHubActions", GITHUB_ACTIONS),
    ("Boto3/1.34 GitLab-Runner/16.8", GITLAB),
    ("aws-sdk-js/3 bitbucket-pipelines", BITBUCKET),
    ("aws-cli/2 CircleCI", CIRCLECI),
    ("aws-cli/2.15 Python/3.11 Linux", None),
])
def test_ci_systems_are_recognised_by_their_user_agents(agent, system):
    found = ci_system_of([agent])

    assert (found[0] if found else None) == system
    if found:
        assert found[1] == agent


def test_a_ci_key_in_an_account_trusting_github_names_the_provider():
    issuer = "token.actions.githubusercontent.com"
    agents = ("aws-cli/2", "configure-aws-credentials-for-github-actions")
    way_out = recommend(key(user_agents=agents, oidc_issuers=("gitlab.com", issuer)))

    assert way_out.path == Path.OIDC_FEDERATION
    assert way_out.ci_system == GITHUB_ACTIONS
    assert way_out.oidc_issuer == issuer
    assert way_out.evidence == (
        "Its calls name GitHub Actions in their user agent "
        "(configure-aws-credentials-for-github-actions).",
        f"prod ({PROD}) already trusts GitHub Actions's tokens (OIDC provider {issuer}): "
        "create a role for your repository and remove the key.")


def test_a_ci_key_without_its_provider_is_told_which_provider_to_create():
    way_out = recommend(key(user_agents=("gitlab-runner",), oidc_issuers=(
        "token.actions.githubusercontent.com",)))

    assert way_out.path == Path.OIDC_FEDERATION
    assert way_out.oidc_issuer == ""
    assert "has no OIDC provider for GitLab CI/CD: create one (gitlab.com)" in way_out.evidence[-1]


def test_providers_with_an_organization_in_the_path_match_by_prefix():
    issuer = "oidc.circleci.com/org/0b6a2cbd-1111-2222-3333-444444444444"
    way_out = recommend(key(user_agents=("circleci",), oidc_issuers=(issuer,)))

    assert way_out.oidc_issuer == issuer


@pytest.mark.parametrize("issuer", ["https://token.actions.githubusercontent.com",
                                    "HTTPS://Token.Actions.GitHubUserContent.com"])
def test_a_provider_named_with_its_scheme_is_the_ci_systems_provider_as_given(issuer):
    way_out = recommend(key(user_agents=("github-actions",), oidc_issuers=(issuer,)))

    assert way_out.oidc_issuer == issuer


def test_a_lookalike_issuer_does_not_count_as_the_ci_systems_provider():
    way_out = recommend(key(user_agents=("github-actions",),
                            oidc_issuers=("evil.example/token.actions.githubusercontent.com",)))

    assert way_out.oidc_issuer == ""


def test_a_key_registered_for_ci_without_agents_lists_the_accounts_providers():
    way_out = recommend(key(purpose_category="ci_cd",
                            oidc_issuers=("token.actions.githubusercontent.com", "gitlab.com")))

    assert way_out.path == Path.OIDC_FEDERATION
    assert way_out.ci_system is None
    assert way_out.oidc_issuer == ""
    assert way_out.evidence == (
        "The key is registered for CI/CD.",
        f"prod ({PROD}) has OIDC providers (gitlab.com, token.actions.githubusercontent.com): "
        "if your CI system is one of them, create a role for your repository and remove the "
        "key.")


def test_a_key_registered_for_ci_in_an_account_without_providers():
    way_out = recommend(key(purpose_category="ci_cd"))

    assert way_out.evidence[-1] == (f"prod ({PROD}) has no OIDC provider: create one for "
                                    "your CI system.")


def test_oidc_providers_not_read_says_so():
    way_out = recommend(key(user_agents=("github-actions",), oidc_issuers=None))

    assert way_out.path == Path.OIDC_FEDERATION
    assert way_out.oidc_issuer == ""
    assert way_out.evidence[-1] == f"The OIDC providers of prod ({PROD}) were not read yet."


def test_ci_wins_over_addresses():
    way_out = recommend(key(user_agents=("github-actions",),
                            addresses=(Address("3.90.1.2"),), aws_networks=(AWS_RANGE,)))

    assert way_out.path == Path.OIDC_FEDERATION


# --- workloads: inside AWS -> IAM role, outside -> Roles Anywhere ------------------------------

@pytest.mark.parametrize(("address", "expected"), [
    (Address("lambda.amazonaws.com", via_aws_service=True), True),
    (Address("ec2.AmazonAWS.com"), True),
    (Address("3.90.1.2"), True),
    (Address("3.79.255.255"), False),
    (Address("203.0.113.9"), False),
    (Address("2001:db8::1"), False),
    (Address("not-an-address"), False),
    (Address("amazonaws.com.evil.example"), False),
])
def test_aws_addresses_are_service_names_or_within_aws_ranges(address, expected):
    assert is_aws_address(address, [AWS_RANGE]) is expected


def test_a_workload_calling_only_from_aws_gets_an_iam_role():
    way_out = recommend(key(addresses=(Address("3.90.1.2"), Address("ecs.amazonaws.com", True)),
                            aws_networks=(AWS_RANGE,), evidence_days=14))

    assert way_out.path == Path.IAM_ROLE
    assert way_out.evidence == (
        "Every call of the last 14 days came from inside AWS (3.90.1.2, ecs.amazonaws.com).",
        "Give that workload an IAM role (instance profile, task role, function role) and "
        "deactivate this key.")


ROLES_ANYWHERE_STEP = ("No CI system or federation is in evidence: issue the workload an X.509 "
                       "certificate and use IAM Roles Anywhere instead of this key.")


def test_an_address_outside_aws_gets_roles_anywhere_naming_the_addresses():
    addresses = tuple(Address(f"203.0.113.{n}") for n in range(5)) + (Address("3.90.1.2"),)
    way_out = recommend(key(addresses=addresses, aws_networks=(AWS_RANGE,)))

    assert way_out.path == Path.ROLES_ANYWHERE
    assert way_out.outside_addresses == tuple(f"203.0.113.{n}" for n in range(5))
    assert way_out.evidence[0] == ("Calls of the last 30 days came from outside AWS "
                                   "(203.0.113.0, 203.0.113.1, 203.0.113.2 and 2 more).")
    assert way_out.evidence[1:] == (
        "1 of 6 addresses are AWS's: those callers can use an IAM role instead.",
        ROLES_ANYWHERE_STEP)


@pytest.mark.parametrize(("count", "shown"), [
    (3, "203.0.113.0, 203.0.113.1, 203.0.113.2"),
    (4, "203.0.113.0, 203.0.113.1, 203.0.113.2 and 1 more"),
])
def test_three_addresses_are_named_and_only_a_fourth_is_counted_instead(count, shown):
    addresses = tuple(Address(f"203.0.113.{n}") for n in range(count))
    way_out = recommend(key(addresses=addresses + addresses))

    assert way_out.evidence == (f"Calls of the last 30 days came from outside AWS ({shown}).",
                                ROLES_ANYWHERE_STEP)


def test_without_aws_ranges_a_plain_ip_is_outside_aws():
    way_out = recommend(key(addresses=(Address("3.90.1.2"),)))

    assert way_out.path == Path.ROLES_ANYWHERE


def test_an_on_premises_registration_without_usage_gets_roles_anywhere():
    way_out = recommend(key(purpose_category="on_premises"))

    assert way_out.path == Path.ROLES_ANYWHERE
    assert way_out.evidence == ("The key is registered for an on-premises workload.",
                                ROLES_ANYWHERE_STEP)


# --- otherwise keep ----------------------------------------------------------------------------

def test_no_evidence_at_all_keeps_the_key_and_says_what_is_missing():
    way_out = recommend(key())

    assert way_out.path == Path.KEEP
    assert way_out.evidence == (
        "No calls recorded in the last 30 days and no registration that points to a "
        "replacement: the key stays an exception until there is evidence.",)


def test_a_saas_key_is_kept_with_the_question_for_the_vendor():
    way_out = recommend(key(purpose_category="saas"))

    assert way_out.path == Path.KEEP
    assert way_out.evidence == (
        "The key is registered for a third-party service.",
        "Ask the vendor whether it can assume a cross-account IAM role with an external id: "
        "if it can, that replaces the key.")


def test_every_verdict_has_evidence():
    for facts in (key(), human(), key(purpose_category="ci_cd"), key(purpose_category="saas"),
                  key(addresses=(Address("x.amazonaws.com"),)),
                  key(purpose_category="on_premises")):
        assert recommend(facts).evidence


# --- the registration form's "why not" answers against the evidence ---------------------------

def test_evidence_of_an_available_alternative_challenges_the_matching_answer():
    assigned = recommend(human(assignments=(Assignment(PROD, "Developer"),)))
    in_aws = recommend(key(addresses=(Address("ecs.amazonaws.com", True),)))
    trusted = recommend(key(user_agents=("github-actions",),
                            oidc_issuers=("token.actions.githubusercontent.com",)))

    assert available_alternatives(assigned) == {"why_not_identity_center": assigned.evidence[-1]}
    assert available_alternatives(in_aws) == {"why_not_iam_role": in_aws.evidence[0]}
    assert available_alternatives(trusted) == {"why_not_sts": trusted.evidence[-1]}


@pytest.mark.parametrize(("way_out", "answer"), [
    (WayOut(Path.IDENTITY_CENTER, ("why", "more", "the step"), permission_sets=("Dev",)),
     "why_not_identity_center"),
    (WayOut(Path.OIDC_FEDERATION, ("why", "more", "the step"), oidc_issuer="gitlab.com"),
     "why_not_sts"),
])
def test_the_last_sentence_the_step_is_what_challenges_the_answer(way_out, answer):
    assert available_alternatives(way_out) == {answer: "the step"}


def test_no_evidence_of_an_alternative_challenges_nothing():
    assert available_alternatives(recommend(human())) == {}
    assert available_alternatives(recommend(key(user_agents=("github-actions",)))) == {}
    assert available_alternatives(recommend(key())) == {}


# --- the trust policy to create ----------------------------------------------------------------

def test_github_trust_policy_is_scoped_to_the_repository():
    policy = oidc_trust_policy(system=GITHUB_ACTIONS, account_id=PROD, repository="acme/deploy")

    assert policy == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{PROD}:oidc-provider/"
                                       "token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/deploy:*"}},
        }],
    }


def test_github_trust_policy_narrowed_to_a_branch_uses_an_exact_match():
    policy = oidc_trust_policy(system=GITHUB_ACTIONS, account_id=PROD, repository="acme/deploy",
                               ref="refs/heads/main")

    assert policy["Statement"][0]["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:acme/deploy:ref:refs/heads/main"}}


def test_gitlab_trust_policy_for_a_self_managed_instance_and_a_subgroup():
    policy = oidc_trust_policy(system=GITLAB, account_id=PROD, repository="platform/infra/deploy",
                               issuer="https://gitlab.example.com/")

    statement = policy["Statement"][0]
    assert statement["Principal"]["Federated"] == (
        f"arn:aws:iam::{PROD}:oidc-provider/gitlab.example.com")
    assert statement["Condition"] == {
        "StringEquals": {"gitlab.example.com:aud": "https://gitlab.example.com"},
        "StringLike": {"gitlab.example.com:sub": "project_path:platform/infra/deploy:*"}}


def test_an_issuers_path_keeps_its_last_character_only_slashes_are_trimmed():
    policy = oidc_trust_policy(system=GITLAB, account_id=PROD, repository="g/p",
                               issuer="https://example.com/GITLABX//")

    assert policy["Statement"][0]["Principal"]["Federated"] == (
        f"arn:aws:iam::{PROD}:oidc-provider/example.com/GITLABX")


def test_the_json_form_is_the_policy_indented_to_paste():
    assert oidc_trust_policy_json(system=GITLAB, account_id=PROD, repository="g/p",
                                  ref="main", partition="aws-us-gov") == f"""{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Principal": {{
        "Federated": "arn:aws-us-gov:iam::{PROD}:oidc-provider/gitlab.com"
      }},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {{
        "StringEquals": {{
          "gitlab.com:aud": "https://gitlab.com",
          "gitlab.com:sub": "project_path:g/p:ref_type:branch:ref:main"
        }}
      }}
    }}
  ]
}}"""


def test_the_json_form_is_the_same_policy():
    kwargs = {"system": GITLAB, "account_id": PROD, "repository": "g/p", "ref": "main"}

    assert json.loads(oidc_trust_policy_json(**kwargs)) == oidc_trust_policy(**kwargs)
    assert oidc_trust_policy(**kwargs)["Statement"][0]["Condition"]["StringEquals"][
        "gitlab.com:sub"] == "project_path:g/p:ref_type:branch:ref:main"


@pytest.mark.parametrize(("system", "overrides", "message"), [
    (GITHUB_ACTIONS, {"repository": "acme/*"},
     "not a GitHub repository (owner/name): 'acme/*'"),
    (GITLAB, {"repository": "project-only"},
     "not a GitLab project path (group/project): 'project-only'"),
    (GITHUB_ACTIONS, {"ref": "refs/heads/*"}, "not a branch or ref: 'refs/heads/*'"),
    (GITHUB_ACTIONS, {"account_id": "12345"}, "not an AWS account id: '12345'"),
    (GITLAB, {"issuer": "https://Gitlab.example.com"},
     "not an OIDC issuer host: 'Gitlab.example.com'"),
    (CIRCLECI, {}, "no trust policy template for CircleCI yet"),
])
def test_a_refusal_says_what_was_refused(system, overrides, message):
    """The key page shows the message next to the form field the person typed."""
    kwargs = {"system": system, "account_id": PROD, "repository": "acme/deploy", **overrides}

    with pytest.raises(ValueError) as refused:
        oidc_trust_policy(**kwargs)
    assert str(refused.value) == message


@pytest.mark.parametrize(("system", "overrides"), [
    (GITHUB_ACTIONS, {"repository": "acme/*"}),  # a wildcard would trust every repository
    (GITHUB_ACTIONS, {"repository": "acme"}),
    (GITHUB_ACTIONS, {"repository": 'acme/x","y'}),
    (GITHUB_ACTIONS, {"repository": "acme/x:ref:refs/heads/main"}),
    (GITHUB_ACTIONS, {"ref": "refs/heads/*"}),
    (GITHUB_ACTIONS, {"account_id": "12345"}),
    (GITLAB, {"repository": "project-only"}),
    (GITLAB, {"issuer": "gitlab.example.com/*"}),
    (CIRCLECI, {}),
])
def test_anything_that_would_widen_or_break_the_policy_is_refused(system, overrides):
    kwargs = {"system": system, "account_id": PROD, "repository": "acme/deploy", **overrides}

    with pytest.raises(ValueError):
        oidc_trust_policy(**kwargs)
