"""IAM policy documents for the demo organization.

Each document is shaped after one row of DESIGN.md's finding table, so that the
policy rules have something true to find (admin in its different spellings, the
power-user shape that is not admin, known paths to admin, source restrictions done
well, half-done and with an ``IfExists`` loophole, and AWS's quarantine policy).
A :class:`PolicySpec` carries the situation names it plants, so the seeder can
record them without re-deriving what a document means.

IP ranges are the RFC 5737 documentation ranges and VPC endpoint ids are made
up: nothing here points at a real network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Document = dict[str, Any]

OFFICE_CIDRS = ("203.0.113.0/24", "198.51.100.0/24")
CI_RUNNER_CIDRS = ("192.0.2.0/24",)
DEMO_VPCE = "vpce-0a1b2c3d4e5f60789"
AWS_ADMINISTRATOR_ACCESS_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
# What AWS attaches to a user when it finds one of the user's keys in public (KEY_EXPOSED).
AWS_QUARANTINE_ARN = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
# The AWS-managed policies the demo attaches; the seeder makes each exist in moto.
AWS_MANAGED_ARNS = (AWS_ADMINISTRATOR_ACCESS_ARN, AWS_QUARANTINE_ARN)


@dataclass(frozen=True)
class PolicySpec:
    """A named policy document plus the situation names attaching it plants."""

    name: str
    document: Document
    situations: tuple[str, ...] = ()


def document(*statements: dict[str, Any]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: str | list[str], resources: str | list[str] = "*", **condition: Any) -> dict:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def bucket(name: str) -> list[str]:
    return [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]


# --- Permissions: the spellings of "* on *", its near miss, and paths to admin -------------

ADMIN_STAR = PolicySpec("full-access", document(allow("*")), ("admin_inline",))
ADMIN_STAR_COLON_STAR = PolicySpec(
    "legacy-full-access", document(allow("*:*")), ("admin_star_colon_star",)
)
GROUP_ADMIN = PolicySpec("platform-admin", document(allow("*")), ("admin_via_group",))
# AWS's PowerUserAccess shape: everything except IAM, Organizations and Account. Not admin
# (it cannot touch IAM), and no path to admin either (iam:PassRole is excluded with iam:*).
NOT_ACTION_POWER_USER = PolicySpec(
    "power-user",
    document(
        {
            "Effect": "Allow",
            "NotAction": ["iam:*", "organizations:*", "account:*"],
            "Resource": "*",
        }
    ),
    ("power_user_not_admin",),
)
# Everything except one action: IAM included, so still admin.
NOT_ACTION_ADMIN = PolicySpec(
    "everything-but-bucket-deletion",
    document({"Effect": "Allow", "NotAction": ["s3:DeleteBucket"], "Resource": "*"}),
    ("admin_not_action",),
)
# Not admin, but a known path to it: pass a role to an instance it launches, and act as it.
PASS_ROLE_RUN_INSTANCES = PolicySpec(
    "launch-batch-workers",
    document(allow(["iam:PassRole", "ec2:RunInstances", "ec2:DescribeInstances"])),
    ("escalation_pass_role",),
)
# Not admin, but can write any inline policy (its own included): through a group.
GROUP_IAM_WRITE = PolicySpec(
    "iam-self-service",
    document(allow(["iam:Put*", "iam:Get*", "iam:List*"])),
    ("escalation_via_group",),
)


# --- Source: guards that confine a key to known networks, and ones that do not quite -----


def deny_outside(name: str, cidrs: tuple = OFFICE_CIDRS, *, if_exists: bool = False) -> PolicySpec:
    """A Deny-everything guard; with ``if_exists`` it lets calls without a source IP through."""
    operator = "NotIpAddressIfExists" if if_exists else "NotIpAddress"
    statement = {
        "Sid": "DenyOutsideKnownNetworks",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {operator: {"aws:SourceIp": list(cidrs)}},
    }
    situation = "source_ifexists" if if_exists else "source_restricted_deny"
    return PolicySpec(name, document(statement), (situation,))


def vpce_only(name: str, actions: list[str], resources: list[str]) -> PolicySpec:
    """Every Allow is conditioned on the VPC endpoint: confined without any Deny."""
    on_vpce = {"StringEquals": {"aws:SourceVpce": DEMO_VPCE}}
    return PolicySpec(
        name,
        document(
            allow(actions, resources, **on_vpce),
            allow(["kms:Decrypt", "kms:GenerateDataKey"], "*", **on_vpce),
        ),
        ("source_restricted_vpce_allows",),
    )


def partial_source(name: str, bucket_name: str) -> PolicySpec:
    """Only the S3 Allow is conditioned; the SQS Allow works from anywhere."""
    return PolicySpec(
        name,
        document(
            allow(
                ["s3:GetObject", "s3:PutObject"],
                bucket(bucket_name),
                IpAddress={"aws:SourceIp": list(CI_RUNNER_CIDRS)},
            ),
            allow(["sqs:SendMessage", "sqs:ReceiveMessage"], "*"),
        ),
        ("source_partial",),
    )


# --- Plain least-privilege-ish policies (no source restriction) -------------------------


def s3_read(name: str, bucket_name: str) -> PolicySpec:
    return PolicySpec(name, document(allow(["s3:GetObject", "s3:ListBucket"], bucket(bucket_name))))


def s3_write(name: str, bucket_name: str) -> PolicySpec:
    actions = ["s3:PutObject", "s3:GetObject", "s3:ListBucket"]
    return PolicySpec(name, document(allow(actions, bucket(bucket_name))))


def service_access(name: str, *actions: str) -> PolicySpec:
    return PolicySpec(name, document(allow(list(actions))))


# --- Customer-managed policies and groups every account gets ------------------------------

CI_DEPLOY = PolicySpec(
    "ci-deploy",
    document(
        allow(["cloudformation:*", "ecr:*", "lambda:UpdateFunctionCode"]),
        allow(["s3:PutObject", "s3:GetObject"], bucket("artifacts-*")),
    ),
)
OBSERVABILITY_READ = PolicySpec(
    "observability-read",
    document(allow(["cloudwatch:Get*", "cloudwatch:List*", "logs:Describe*", "logs:Get*"])),
)
DEVELOPER_READ = PolicySpec(
    "developer-read", document(allow(["ec2:Describe*", "s3:List*", "logs:Get*", "cloudwatch:Get*"]))
)

CUSTOMER_MANAGED = (CI_DEPLOY, OBSERVABILITY_READ, DEVELOPER_READ)


@dataclass(frozen=True)
class GroupSpec:
    """An IAM group: inline policies, and managed policies by name or AWS ARN."""

    name: str
    inline: tuple[PolicySpec, ...] = ()
    managed: tuple[str, ...] = ()
    situations: tuple[str, ...] = ()


GROUPS = (
    GroupSpec("developers", managed=("developer-read",)),
    GroupSpec("platform-admins", inline=(GROUP_ADMIN,), situations=GROUP_ADMIN.situations),
    GroupSpec(
        "break-glass", managed=(AWS_ADMINISTRATOR_ACCESS_ARN,), situations=("admin_via_group",)
    ),
    GroupSpec(
        "iam-operators", inline=(GROUP_IAM_WRITE,), situations=GROUP_IAM_WRITE.situations
    ),
)


# --- The read-only role Keyledger assumes in every account --------------------------------



def reader_trust_policy(management_account_id: str, external_id: str) -> Document:
    """Trust only the management account, and only with the agreed ExternalId."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{management_account_id}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
        }
    )


# The shipped least-privilege policy itself, so the demo's reader role is exactly production's.
SHIPPED_READER_POLICY = (Path(__file__).resolve().parents[1]
                         / "deploy" / "aws" / "keyledger-reader-policy.json")
READER_POLICY = PolicySpec("keyledger-read-only", json.loads(SHIPPED_READER_POLICY.read_text()))
