"""Each key's way out: facts about one key in, the recommended replacement path out.

DESIGN.md "Fewer keys": an access key is an exception, and every key has a path away from
it (``iam_role``, ``identity_center``, ``oidc_federation``, ``roles_anywhere``) or a reason
to stay (``keep``). Pure on purpose, like :mod:`governance.policy`: no ORM, no clock, no
AWS. The caller gathers :class:`WayOutFacts` (the key's findings and registration, the
owner's Identity Center user and assignments, the account's OIDC providers, the usage
evidence) and the same facts always give the same :class:`WayOut`, so the rules are tested
exhaustively in milliseconds.

The rules, first match wins, and why in that order:

1. **A person's key** (``HUMAN_USER_KEY`` open, or registered for local development) ->
   ``identity_center``. A person should sign in, not hold a key; whether the owner already
   has an Identity Center user and an assignment to this account only changes what the
   evidence tells them to do next (``aws sso login`` today, or ask for an assignment).
2. **A CI key** (registered as CI/CD, or a user agent names a CI system) ->
   ``oidc_federation``: the CI system's own tokens, through the account's IAM OIDC provider
   (named when it exists, to be created when not).
3. **A workload inside AWS** (every source address of the window is AWS's) -> ``iam_role``.
4. **A workload outside AWS** (some address is not AWS's, or registered as on-premises)
   with no federation -> ``roles_anywhere``: an X.509 certificate instead of a key.
5. **Otherwise** -> ``keep``, saying what evidence is missing, so the key stays an
   exception someone has to justify rather than a silent default.

Every string that came from AWS or from a caller (permission set names, provider hosts,
user agents) is data: pages escape it; this module only places it in sentences.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

HUMAN_USER_KEY = "HUMAN_USER_KEY"
# Registration categories (governance.models.PurposeCategory values; no import: pure).
LOCAL_DEVELOPMENT = "local_development"
CI_CD = "ci_cd"
ON_PREMISES = "on_premises"
SAAS = "saas"


class Path(StrEnum):
    """The replacement paths of DESIGN.md, as the API's ``way_out.path`` spells them."""

    IAM_ROLE = "iam_role"
    IDENTITY_CENTER = "identity_center"
    OIDC_FEDERATION = "oidc_federation"
    ROLES_ANYWHERE = "roles_anywhere"
    KEEP = "keep"


@dataclass(frozen=True)
class CiSystem:
    """A CI/CD system that issues OIDC tokens AWS can trust.

    ``agent_markers``: lower-case fragments of the user agents its AWS tooling sends;
    ``issuer_hosts``: the OIDC issuer (``Url`` of the IAM provider, without scheme), as a
    prefix, since some systems put the organization in the path.
    """

    name: str
    agent_markers: tuple[str, ...]
    issuer_hosts: tuple[str, ...]


GITHUB_ACTIONS = CiSystem("GitHub Actions",
                          ("github-actions", "configure-aws-credentials", "githubactions"),
                          ("token.actions.githubusercontent.com",))
GITLAB = CiSystem("GitLab CI/CD", ("gitlab",), ("gitlab.com",))
BITBUCKET = CiSystem("Bitbucket Pipelines", ("bitbucket",), ("api.bitbucket.org/2.0/workspaces/",))
CIRCLECI = CiSystem("CircleCI", ("circleci",), ("oidc.circleci.com/org/",))
BUILDKITE = CiSystem("Buildkite", ("buildkite",), ("agent.buildkite.com",))
TERRAFORM_CLOUD = CiSystem("HCP Terraform", ("terraform-cloud", "tfc-agent"), ("app.terraform.io",))
CI_SYSTEMS = (GITHUB_ACTIONS, GITLAB, BITBUCKET, CIRCLECI, BUILDKITE, TERRAFORM_CLOUD)


@dataclass(frozen=True)
class Assignment:
    """One Identity Center account assignment of the owner: a permission set on an account."""

    account_id: str
    permission_set: str


@dataclass(frozen=True)
class Address:
    """A source address of the key's calls in the evidence window.

    ``via_aws_service``: CloudTrail says an AWS service made the call for the key (the
    address is then a service name such as ``lambda.amazonaws.com``).
    """

    address: str
    via_aws_service: bool = False


@dataclass(frozen=True)
class WayOutFacts:
    """What is known about one key; ``None`` where a source was not read at all.

    ``identity_center_user``: whether the owner has an Identity Center user (None: Identity
    Center not read, or the key has no owner). ``assignments``: the owner's assignments,
    any account. ``oidc_issuers``: the key's account's IAM OIDC providers, as issuer URLs
    without scheme (None: not read). ``addresses``/``user_agents``: usage evidence of the
    window (empty: no calls recorded, or no evidence read). ``aws_networks``: AWS's address
    ranges (``ip-ranges.json``) when the caller has them.
    """

    account_id: str
    account_name: str = ""
    open_codes: frozenset[str] = frozenset()
    purpose_category: str = ""
    owner_email: str = ""
    identity_center_user: bool | None = None
    assignments: tuple[Assignment, ...] = ()
    oidc_issuers: tuple[str, ...] | None = None
    addresses: tuple[Address, ...] = ()
    user_agents: tuple[str, ...] = ()
    aws_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    evidence_days: int = 30


@dataclass(frozen=True)
class WayOut:
    """The recommended path, the sentences that justify it, and what the next step needs.

    ``permission_sets``: the owner's permission sets on this account (identity_center);
    ``ci_system`` and ``oidc_issuer``: the CI system seen and the account's provider for it
    (oidc_federation; ``oidc_issuer`` empty when the provider is still to be created).
    """

    path: Path
    evidence: tuple[str, ...]
    permission_sets: tuple[str, ...] = ()
    ci_system: CiSystem | None = None
    oidc_issuer: str = ""
    outside_addresses: tuple[str, ...] = field(default=())


def _account(facts: WayOutFacts) -> str:
    return f"{facts.account_name} ({facts.account_id})" if facts.account_name else facts.account_id


def is_aws_address(address: Address,
                   aws_networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether a call came from inside AWS: an AWS service acting for the key, a service
    name (``*.amazonaws.com``), or an IP address within AWS's published ranges."""
    if address.via_aws_service or address.address.lower().endswith(".amazonaws.com"):
        return True
    try:
        ip = ipaddress.ip_address(address.address)
    except ValueError:
        return False
    return any(ip in network for network in aws_networks)


def ci_system_of(user_agents: Iterable[str]) -> tuple[CiSystem, str] | None:
    """The CI system a user agent names, with that user agent (the first that matches)."""
    for agent in user_agents:
        lowered = agent.lower()
        for system in CI_SYSTEMS:
            if any(marker in lowered for marker in system.agent_markers):
                return system, agent
    return None


def issuer_for(system: CiSystem, issuers: Iterable[str]) -> str:
    """The account's OIDC provider issuing ``system``'s tokens, or '' when it has none."""
    for issuer in issuers:
        bare = issuer.lower().removeprefix("https://")
        if any(bare.startswith(host) for host in system.issuer_hosts):
            return issuer
    return ""


def recommend(facts: WayOutFacts) -> WayOut:
    """The key's way out (module docstring: the rules and their order)."""
    if HUMAN_USER_KEY in facts.open_codes or facts.purpose_category == LOCAL_DEVELOPMENT:
        return _identity_center(facts)
    seen = ci_system_of(facts.user_agents)
    if seen is not None or facts.purpose_category == CI_CD:
        return _oidc(facts, seen)
    return _workload(facts)


def _identity_center(facts: WayOutFacts) -> WayOut:
    why = ("The key belongs to a person (the user also signs in to the console)."
           if HUMAN_USER_KEY in facts.open_codes
           else "The key is registered for local development: a person's key.")
    account = _account(facts)
    # Assignments count only for an owner whose Identity Center user was found.
    sets = (permission_sets_on(facts.assignments, facts.account_id)
            if facts.owner_email and facts.identity_center_user else ())
    if not facts.owner_email:
        step = ("The key has no owner yet, so Identity Center was not checked: assign an "
                "owner to see whether they can sign in instead.")
    elif facts.identity_center_user is None:
        step = ("Identity Center was not read (no Identity Center reader configured): ask "
                f"your administrator for an assignment to {account}, then use `aws sso login`.")
    elif not facts.identity_center_user:
        step = (f"{facts.owner_email} has no IAM Identity Center user: ask your administrator "
                f"for one with an assignment to {account}.")
    elif not sets:
        step = (f"{facts.owner_email} has an Identity Center user but no assignment to "
                f"{account}: ask for a permission set on it, then use `aws sso login`.")
    else:
        names = ", ".join(f"`{name}`" for name in sets)
        noun = "permission set" if len(sets) == 1 else "permission sets"
        step = (f"You already have the {names} {noun} on {account} through Identity Center: "
                "use `aws sso login` and deactivate this key.")
    return WayOut(Path.IDENTITY_CENTER, (why, step), permission_sets=sets)


def _oidc(facts: WayOutFacts, seen: tuple[CiSystem, str] | None) -> WayOut:
    account = _account(facts)
    if seen is not None:
        system, agent = seen
        evidence = [f"Its calls name {system.name} in their user agent ({agent})."]
    else:
        system = None
        evidence = ["The key is registered for CI/CD."]
    issuer = ""
    if facts.oidc_issuers is None:
        evidence.append(f"The OIDC providers of {account} were not read yet.")
    elif system is not None:
        issuer = issuer_for(system, facts.oidc_issuers)
        if issuer:
            evidence.append(f"{account} already trusts {system.name}'s tokens (OIDC provider "
                            f"{issuer}): create a role for your repository and remove the key.")
        else:
            evidence.append(f"{account} has no OIDC provider for {system.name}: create one "
                            f"({system.issuer_hosts[0]}), then a role for your repository.")
    elif facts.oidc_issuers:
        listed = ", ".join(sorted(facts.oidc_issuers))
        evidence.append(f"{account} has OIDC providers ({listed}): if your CI system is one of "
                        "them, create a role for your repository and remove the key.")
    else:
        evidence.append(f"{account} has no OIDC provider: create one for your CI system.")
    return WayOut(Path.OIDC_FEDERATION, tuple(evidence), ci_system=system, oidc_issuer=issuer)


def _workload(facts: WayOutFacts) -> WayOut:
    days = facts.evidence_days
    inside = [a for a in facts.addresses if is_aws_address(a, facts.aws_networks)]
    outside = tuple(sorted(a.address for a in facts.addresses
                           if not is_aws_address(a, facts.aws_networks)))
    if facts.addresses and not outside:
        return WayOut(Path.IAM_ROLE, (
            f"Every call of the last {days} days came from inside AWS "
            f"({_some(a.address for a in inside)}).",
            "Give that workload an IAM role (instance profile, task role, function role) "
            "and deactivate this key."))
    if outside or facts.purpose_category == ON_PREMISES:
        if outside:
            evidence = [f"Calls of the last {days} days came from outside AWS "
                        f"({_some(outside)})."]
            if inside:
                evidence.append(f"{len(inside)} of {len(facts.addresses)} addresses are "
                                "AWS's: those callers can use an IAM role instead.")
        else:
            evidence = ["The key is registered for an on-premises workload."]
        evidence.append("No CI system or federation is in evidence: issue the workload an X.509 "
                        "certificate and use IAM Roles Anywhere instead of this key.")
        return WayOut(Path.ROLES_ANYWHERE, tuple(evidence), outside_addresses=outside)
    if facts.purpose_category == SAAS:
        return WayOut(Path.KEEP, (
            "The key is registered for a third-party service.",
            "Ask the vendor whether it can assume a cross-account IAM role with an external "
            "id: if it can, that replaces the key."))
    return WayOut(Path.KEEP, (
        f"No calls recorded in the last {days} days and no registration that points to a "
        "replacement: the key stays an exception until there is evidence.",))


def _some(values: Iterable[str], shown: int = 3) -> str:
    """A few values for a sentence, with how many more there are."""
    items = sorted(set(values))
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def available_alternatives(way_out: WayOut) -> dict[str, str]:
    """Which of a registration's "why not" answers the evidence contradicts, with why.

    Keys are Registration fields (``why_not_identity_center``, ``why_not_iam_role``,
    ``why_not_sts``); the registration form shows each sentence and asks the owner to
    confirm the reason still holds.
    """
    found: dict[str, str] = {}
    if way_out.path == Path.IDENTITY_CENTER and way_out.permission_sets:
        found["why_not_identity_center"] = way_out.evidence[-1]
    if way_out.path == Path.IAM_ROLE:
        found["why_not_iam_role"] = way_out.evidence[0]
    if way_out.path == Path.OIDC_FEDERATION and way_out.oidc_issuer:
        found["why_not_sts"] = way_out.evidence[-1]
    return found


# --- The trust policy to create, scoped to the owner's repository -----------------------------

ACCOUNT_ID = re.compile(r"[0-9]{12}")
# Repository paths as GitHub and GitLab allow them: no wildcard, no condition syntax, so the
# trust policy never reaches further than the repository named.
GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
GITLAB_PROJECT = re.compile(r"[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255}){1,20}")
ISSUER_HOST = re.compile(r"[a-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9_.-]+)*")
REF = re.compile(r"[A-Za-z0-9_./-]{1,255}")


def oidc_trust_policy(*, system: CiSystem, account_id: str, repository: str,
                      issuer: str = "", ref: str = "", partition: str = "aws") -> dict:
    """The role trust policy letting ``repository``'s CI jobs (GitHub Actions or GitLab)
    assume a role through the account's OIDC provider, as a policy document.

    ``issuer``: the provider's URL without scheme (default: the system's public issuer; a
    self-managed GitLab names its own). ``ref``: a branch to narrow it to (GitHub
    ``refs/heads/main``, GitLab ``main``); empty allows every ref of that repository only.
    Raises ValueError for a repository, ref, issuer or account id that is not one, since
    any of them would land inside the policy.
    """
    if not ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(f"not an AWS account id: {account_id!r}")
    issuer = (issuer or system.issuer_hosts[0]).removeprefix("https://").rstrip("/")
    if not ISSUER_HOST.fullmatch(issuer):
        raise ValueError(f"not an OIDC issuer host: {issuer!r}")
    if ref and not REF.fullmatch(ref):
        raise ValueError(f"not a branch or ref: {ref!r}")
    if system is GITHUB_ACTIONS:
        if not GITHUB_REPOSITORY.fullmatch(repository):
            raise ValueError(f"not a GitHub repository (owner/name): {repository!r}")
        audience = "sts.amazonaws.com"
        subject = f"repo:{repository}:" + (f"ref:{ref}" if ref else "*")
    elif system is GITLAB:
        if not GITLAB_PROJECT.fullmatch(repository):
            raise ValueError(f"not a GitLab project path (group/project): {repository!r}")
        audience = f"https://{issuer}"
        subject = f"project_path:{repository}:" + (f"ref_type:branch:ref:{ref}" if ref else "*")
    else:
        raise ValueError(f"no trust policy template for {system.name} yet")
    operator = "StringLike" if subject.endswith("*") else "StringEquals"
    conditions: dict[str, dict[str, str]] = {"StringEquals": {f"{issuer}:aud": audience}}
    conditions.setdefault(operator, {})[f"{issuer}:sub"] = subject
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": conditions,
        }],
    }


def oidc_trust_policy_json(**kwargs) -> str:
    """:func:`oidc_trust_policy` as the JSON a person pastes into the console or CLI."""
    return json.dumps(oidc_trust_policy(**kwargs), indent=2)


def permission_sets_on(assignments: Sequence[Assignment], account_id: str) -> tuple[str, ...]:
    """The permission set names of ``assignments`` on ``account_id``, sorted, once each."""
    return tuple(sorted({a.permission_set for a in assignments if a.account_id == account_id}))
