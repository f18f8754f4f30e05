"""Seed an emulated AWS organization in moto with realistic IAM access-key data.

One module feeds ``make demo``, the tests and the benchmarks, so all three look at the
same organization: four member accounts (prod, staging, dev, legacy) whose users, keys,
policies, tags and CloudTrail trails plant every situation of DESIGN.md's finding table,
plus the people who own those keys.

Everything is created through the public APIs, as the member account itself (assumed-role
credentials), so collectors see what they would see in AWS. What AWS APIs cannot set
(key creation and last-use dates, a root access key) is then written into moto's IAM
backend objects; that is why this must run in the process where moto runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

from .catalog import (
    ACCOUNT_KINDS,
    DOMAIN,
    PEOPLE,
    PEOPLE_BY_HANDLE,
    UserSpec,
    account_users,
    user_situations,
)
from .policies import (
    AWS_MANAGED_ARNS,
    CUSTOMER_MANAGED,
    GROUPS,
    READER_POLICY,
    reader_trust_policy,
)

REGION = "us-east-1"
READER_ROLE_NAME = "KeyledgerReader"
DEMO_EXTERNAL_ID = "keyledger-demo"
# The seeder writes, so it acts through the admin role Organizations creates in every new
# account (as one would in AWS), not through the read-only KeyledgerReader.
SEED_ROLE_NAME = "OrganizationAccountAccessRole"
SEED_SESSION_NAME = "keyledger-seed"
ROOT_USER = "<root_account>"
DEMO_PASSWORD = "Demo-only-Passw0rd!"
USER_HEADROOM_DAYS = 7  # a user exists a little before its oldest key
# prod trusts GitHub Actions' tokens already: its CI keys have an oidc_federation way out.
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"

SITUATIONS = (
    "admin_inline", "admin_star_colon_star", "admin_via_group", "admin_managed",
    "admin_not_action", "power_user_not_admin", "escalation_pass_role",
    "escalation_via_group", "key_exposed", "source_restricted_deny",
    "source_restricted_vpce_allows", "source_partial", "source_ifexists", "rotation_overdue",
    "rotation_due",
    "rotation_boundary_90", "rotation_boundary_91", "fresh_key", "unused_never",
    "unused_stale", "used_recently", "multiple_active_keys", "inactive_key",
    "human_user_key", "owner_tag_known", "owner_tag_unknown", "owner_tag_inactive",
    "no_owner_tag", "root_key", "no_audit_trail", "trail_logging", "trail_not_logging",
    "no_trail", "untrusted_tag", "no_keys", "deleted_key", "non_root_path",
    "github_oidc_provider",
)  # fmt: skip


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    name: str


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    manager_email: str
    roles: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class DemoOrganization:
    """What was seeded; ``situations`` maps a situation name to (account_id, user_name) pairs.

    Account-level situations (trails, ``no_audit_trail``) use an empty user name, and
    ``root_key`` uses ``<root_account>``, the user name the CSV export gives a root key.
    """

    management_account_id: str
    accounts: tuple[DemoAccount, ...]
    people: tuple[DemoPerson, ...]
    reader_role_name: str
    situations: dict[str, tuple[tuple[str, str], ...]]


def seed_organization(
    *, users_per_account: int | None = None, now: datetime | None = None, accounts: int = 4
) -> DemoOrganization:
    """Create the organization, its member accounts and their IAM data; return the record.

    ``users_per_account=None`` seeds the curated demo set (~15 users per account); a number
    seeds that many users per account, cycling through the same templates. Accounts past
    the fourth are named ``acct-05``... and repeat the prod/staging/dev/legacy mix. All
    dates are relative to ``now`` (default: the current UTC time). Calling it again in the
    same moto adds a fresh set of accounts to the existing organization.
    """
    _require_in_process_moto()
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    now = _naive_utc(now or datetime.now(UTC))
    session = boto3.Session(region_name=REGION)
    sts = session.client("sts")
    management_id = sts.get_caller_identity()["Account"]
    members = _create_member_accounts(session, accounts)
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in SITUATIONS}
    for index, account in enumerate(members):
        seeder = _AccountSeeder(session, sts, account, management_id, now, found)
        seeder.seed(ACCOUNT_KINDS[index % len(ACCOUNT_KINDS)], users_per_account)
    return DemoOrganization(
        management_account_id=management_id,
        accounts=tuple(members),
        people=demo_people(),
        reader_role_name=READER_ROLE_NAME,
        situations={name: tuple(pairs) for name, pairs in found.items()},
    )


def demo_people() -> tuple[DemoPerson, ...]:
    """The security engineer, two managers, the key owners and one leaver."""
    return tuple(
        DemoPerson(
            email=person.email,
            name=person.name,
            manager_email=PEOPLE_BY_HANDLE[person.manager].email if person.manager else "",
            roles=person.roles,
            active=person.active,
        )
        for person in PEOPLE
    )


def _require_in_process_moto() -> None:
    """Refuse to run against real AWS: the seeder writes, and backdates through moto."""
    try:
        from moto.core.models import botocore_stubber
    except ImportError as error:
        raise RuntimeError("demo seeding needs moto (the dev dependency group)") from error
    if botocore_stubber.enabled:
        return
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if urlparse(endpoint).hostname in {"127.0.0.1", "localhost", "::1"}:
        return
    raise RuntimeError(
        "seed_organization only runs against moto in this process: inside moto.mock_aws(), "
        "or with AWS_ENDPOINT_URL pointing at a ThreadedMotoServer started here"
    )


def _naive_utc(moment: datetime) -> datetime:
    """moto keeps naive UTC datetimes; AWS dates have whole seconds."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _create_member_accounts(session, count: int) -> list[DemoAccount]:
    organizations = session.client("organizations")
    try:
        organizations.create_organization(FeatureSet="ALL")
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyInOrganizationException":
            raise
    members = []
    for index in range(count):
        name = ACCOUNT_KINDS[index] if index < len(ACCOUNT_KINDS) else f"acct-{index + 1:02d}"
        status = organizations.create_account(Email=f"aws+{name}@{DOMAIN}", AccountName=name)[
            "CreateAccountStatus"
        ]
        if status["State"] != "SUCCEEDED":
            raise RuntimeError(f"creating account {name} did not succeed: {status}")
        members.append(DemoAccount(account_id=status["AccountId"], name=name))
    return members


def _iam_backend(account_id: str):
    """moto's IAM backend of one account; fails loudly if moto runs in another process."""
    from moto.iam.models import iam_backends

    if account_id not in iam_backends:
        raise RuntimeError(
            f"account {account_id} is not in this process's moto: is AWS_ENDPOINT_URL "
            "pointing at a moto server started by another process?"
        )
    return iam_backends[account_id]["aws"]


@cache
def _aws_managed_data() -> dict:
    """AWS-managed policies as moto ships them (parsing moto's file once per process)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def _ensure_aws_managed_policies(backend) -> None:
    """Give the account the AWS-managed policies the demo attaches (AdministratorAccess,
    AWSCompromisedKeyQuarantineV2), with their real ARNs and documents.

    moto has AWS-managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES=true, and then
    parses all ~1,600 of them for every partition of every account it touches (~0.8 s per
    account), which would dominate seeding. So only these are added, from moto's own
    copy; with the variable set they are already there. Each must go into
    ``aws_managed_policies`` as well as ``managed_policies``: moto calls every other
    managed policy "local" in GetAccountAuthorizationDetails.
    """
    from moto.iam.models import AWSManagedPolicy

    for arn in AWS_MANAGED_ARNS:
        if arn in backend.managed_policies:
            continue
        name = arn.rsplit("/", 1)[1]
        policy = AWSManagedPolicy.from_data(
            name, backend.account_id, backend.region_name, _aws_managed_data()[name]
        )
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy


class _AccountSeeder:
    """Seeds one member account and records what it planted into ``found``."""

    def __init__(self, session, sts, account: DemoAccount, management_id, now, found) -> None:
        self.account = account
        self.management_id = management_id
        self.now = now
        self.found = found
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account.account_id}:role/{SEED_ROLE_NAME}",
            RoleSessionName=SEED_SESSION_NAME,
        )["Credentials"]
        as_member = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        self.iam = session.client("iam", **as_member)
        self.s3 = session.client("s3", **as_member)
        self.cloudtrail = session.client("cloudtrail", **as_member)
        self.backend = _iam_backend(account.account_id)

    def record(self, situation: str, user_name: str = "") -> None:
        self.found[situation].append((self.account.account_id, user_name))

    def seed(self, kind: str, users_per_account: int | None) -> None:
        self._create_reader_role()
        self._create_shared_policies_and_groups()
        for spec in account_users(kind, self.account.name, users_per_account):
            self._create_user(spec)
            for situation in sorted(user_situations(spec)):
                self.record(situation, spec.name)
        self._create_audit_trail(kind)
        if kind == "prod":
            self.iam.create_open_id_connect_provider(
                Url=GITHUB_OIDC_URL, ClientIDList=["sts.amazonaws.com"],
                ThumbprintList=[GITHUB_OIDC_THUMBPRINT])
            self.record("github_oidc_provider")
        if kind == "legacy":
            # GetAccountSummary's AccountAccessKeysPresent; moto has no root key otherwise.
            self.backend.account_summary._account_access_keys_present = 1
            self.record("root_key", ROOT_USER)

    def _policy_arn(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:iam::{self.account.account_id}:policy/{name}"

    def _create_reader_role(self) -> None:
        trust = reader_trust_policy(self.management_id, DEMO_EXTERNAL_ID)
        self.iam.create_role(
            RoleName=READER_ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="Read-only access for Keyledger's collectors",
        )
        self.iam.put_role_policy(
            RoleName=READER_ROLE_NAME,
            PolicyName=READER_POLICY.name,
            PolicyDocument=json.dumps(READER_POLICY.document),
        )

    def _create_shared_policies_and_groups(self) -> None:
        _ensure_aws_managed_policies(self.backend)
        for policy in CUSTOMER_MANAGED:
            self.iam.create_policy(
                PolicyName=policy.name, PolicyDocument=json.dumps(policy.document)
            )
        for group in GROUPS:
            self.iam.create_group(GroupName=group.name)
            for policy in group.inline:
                self.iam.put_group_policy(
                    GroupName=group.name,
                    PolicyName=policy.name,
                    PolicyDocument=json.dumps(policy.document),
                )
            for name in group.managed:
                self.iam.attach_group_policy(GroupName=group.name, PolicyArn=self._policy_arn(name))

    def _create_user(self, spec: UserSpec) -> None:
        iam, name = self.iam, spec.name
        extra = {"Tags": [{"Key": k, "Value": v} for k, v in spec.tags]} if spec.tags else {}
        iam.create_user(UserName=name, Path=spec.path, **extra)
        for policy in spec.inline:
            iam.put_user_policy(
                UserName=name, PolicyName=policy.name, PolicyDocument=json.dumps(policy.document)
            )
        for policy_name in spec.managed:
            iam.attach_user_policy(UserName=name, PolicyArn=self._policy_arn(policy_name))
        for group in spec.groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        if spec.console:
            iam.create_login_profile(
                UserName=name, Password=DEMO_PASSWORD, PasswordResetRequired=False
            )
        if spec.deleted_key:
            gone = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
            iam.delete_access_key(UserName=name, AccessKeyId=gone)
        key_ids = []
        for key in spec.keys:
            key_id = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
            if key.status != "Active":
                iam.update_access_key(UserName=name, AccessKeyId=key_id, Status=key.status)
            key_ids.append(key_id)
        self._backdate(spec, key_ids)

    def _backdate(self, spec: UserSpec, key_ids: list[str]) -> None:
        """Write the dates no AWS API can set into moto's objects (naive UTC, whole seconds)."""
        from moto.iam.models import AccessKeyLastUsed

        now, backend = self.now, self.backend
        oldest = max((key.age_days for key in spec.keys), default=0)
        user = backend.users[spec.name]
        user.create_date = now - timedelta(days=oldest + USER_HEADROOM_DAYS)
        if spec.console:
            user.password_last_used = now - timedelta(days=2, hours=5)
        for key_id, key in zip(key_ids, spec.keys, strict=True):
            access_key = backend.access_keys[key_id]
            access_key.create_date = now - timedelta(days=key.age_days)
            if key.last_used_days is None:
                access_key.last_used = None
            else:
                access_key.last_used = AccessKeyLastUsed(
                    timestamp=now - timedelta(days=key.last_used_days, hours=1),
                    service=key.service,
                    region=key.region,
                )

    def _create_audit_trail(self, kind: str) -> None:
        """prod/staging: a logging multi-region trail; legacy: one that is off; dev: none."""
        if kind == "dev":
            self.record("no_trail")
            self.record("no_audit_trail")
            return
        bucket_name = f"keyledger-demo-cloudtrail-{self.account.account_id}"
        self.s3.create_bucket(Bucket=bucket_name)
        trail = "legacy-audit" if kind == "legacy" else "org-audit"
        self.cloudtrail.create_trail(Name=trail, S3BucketName=bucket_name, IsMultiRegionTrail=True)
        if kind == "legacy":
            self.record("trail_not_logging")
            self.record("no_audit_trail")
        else:
            self.cloudtrail.start_logging(Name=trail)
            self.record("trail_logging")
