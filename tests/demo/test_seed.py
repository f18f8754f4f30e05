"""The demo organization as a collector sees it through boto3: accounts, users, keys, dates.

Runs on in-process moto only; nothing here needs Django or a database.
"""

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from demo.seed import (
    DEMO_EXTERNAL_ID,
    ROOT_USER,
    DemoOrganization,
    seed_organization,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
PROMISED_SITUATIONS = (
    "admin_inline", "admin_star_colon_star", "admin_via_group", "admin_managed",
    "admin_not_action", "power_user_not_admin", "escalation_pass_role", "escalation_via_group",
    "key_exposed", "source_restricted_deny", "source_restricted_vpce_allows",
    "source_partial", "source_ifexists", "rotation_overdue", "rotation_due",
    "rotation_boundary_90", "rotation_boundary_91", "fresh_key", "unused_never",
    "unused_stale", "used_recently", "multiple_active_keys", "inactive_key", "human_user_key",
    "owner_tag_known", "owner_tag_unknown", "owner_tag_inactive", "no_owner_tag", "root_key",
    "no_audit_trail", "trail_logging", "trail_not_logging", "no_trail", "github_oidc_provider",
)  # fmt: skip
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _fake_aws_env(monkeypatch) -> None:
    """Fake credentials so nothing can reach real AWS; never MOTO_ACCOUNT_ID (see NOTES)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="class")
def org():
    """The default demo organization, seeded once at a fixed ``NOW`` for one test class.

    Class scope, not module scope: the mock must be gone before the tests below that
    need no mock at all (a real moto server, the refusal outside moto).
    """
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        _fake_aws_env(monkeypatch)
        yield seed_organization(now=NOW)


def as_reader(org: DemoOrganization, account_id: str) -> boto3.Session:
    """A session inside ``account_id`` through the reader role, as Keyledger assumes it."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{org.reader_role_name}",
        RoleSessionName="keyledger-test",
        ExternalId=DEMO_EXTERNAL_ID,
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def account_id_named(org: DemoOrganization, name: str) -> str:
    return next(account.account_id for account in org.accounts if account.name == name)


def keys_by_user(iam) -> dict[str, list[dict]]:
    users = iam.list_users()["Users"]
    return {
        user["UserName"]: iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
        for user in users
    }


def credential_report(iam) -> dict[str, dict[str, str]]:
    """The decoded credential report, by user name (moto completes it on the first poll)."""
    for _ in range(20):
        if iam.generate_credential_report()["State"] == "COMPLETE":
            break
        time.sleep(0.05)
    content = iam.get_credential_report()["Content"].decode()
    return {row["user"]: row for row in csv.DictReader(io.StringIO(content))}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class TestDefaultDemoOrganization:
    """The curated ~60-user organization, read back the way collectors read it."""

    def test_organization_lists_the_four_member_accounts(self, org):
        pages = boto3.client("organizations").get_paginator("list_accounts").paginate()
        listed = {account["Id"]: account["Name"] for page in pages for account in page["Accounts"]}

        assert org.management_account_id == "123456789012"
        assert [account.name for account in org.accounts] == ["prod", "staging", "dev", "legacy"]
        for account in org.accounts:
            assert listed[account.account_id] == account.name
        assert org.reader_role_name == "KeyledgerReader"


    def test_accounts_hold_about_sixty_users_and_eighty_keys(self, org):
        users = keys = 0
        for account in org.accounts:
            by_user = keys_by_user(as_reader(org, account.account_id).client("iam"))
            assert 12 <= len(by_user) <= 18, account
            users += len(by_user)
            keys += sum(len(user_keys) for user_keys in by_user.values())

        assert 55 <= users <= 65
        assert 72 <= keys <= 90


    def test_overdue_key_is_reported_two_hundred_days_old(self, org):
        account_id, user_name = org.situations["rotation_overdue"][0]
        iam = as_reader(org, account_id).client("iam")

        (key,) = iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]

        assert key["Status"] == "Active"
        assert key["CreateDate"] == NOW - timedelta(days=200)


    def test_credential_report_shows_backdated_rotation_and_last_use(self, org):
        account_id = account_id_named(org, "prod")
        assert (account_id, "svc-legacy-crm") in org.situations["unused_stale"]
        iam = as_reader(org, account_id).client("iam")

        report = credential_report(iam)

        stale = report["svc-legacy-crm"]
        assert stale["access_key_1_active"] == "true"
        assert stale["access_key_1_last_rotated"] == iso(NOW - timedelta(days=300))
        assert stale["access_key_1_last_used_date"] == iso(NOW - timedelta(days=100, hours=1))
        never = report["reporting-etl"]
        assert never["access_key_1_last_rotated"] == iso(NOW - timedelta(days=60))
        assert never["access_key_1_last_used_date"] == "N/A"
        rotating = report["svc-pagerduty"]  # old key disabled in slot 1, the 90-day key in slot 2
        assert rotating["access_key_1_active"] == "false"
        assert rotating["access_key_2_active"] == "true"
        assert rotating["access_key_2_last_rotated"] == iso(NOW - timedelta(days=90))
        assert report["alice.nguyen"]["password_enabled"] == "true"


    def test_last_used_service_and_region_are_visible_per_key(self, org):
        account_id = account_id_named(org, "prod")
        iam = as_reader(org, account_id).client("iam")
        (key,) = iam.list_access_keys(UserName="svc-legacy-crm")["AccessKeyMetadata"]
        response = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])

        last_used = response["AccessKeyLastUsed"]

        assert last_used["ServiceName"] == "dynamodb"
        assert last_used["Region"] == "eu-west-1"
        assert last_used["LastUsedDate"] == NOW - timedelta(days=100, hours=1)


    def test_only_legacy_reports_a_root_access_key(self, org):
        present = {
            account.name: as_reader(org, account.account_id)
            .client("iam")
            .get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"]
            for account in org.accounts
        }

        assert present == {"prod": 0, "staging": 0, "dev": 0, "legacy": 1}
        assert org.situations["root_key"] == ((account_id_named(org, "legacy"), ROOT_USER),)


    @pytest.mark.parametrize("situation", PROMISED_SITUATIONS)
    def test_every_promised_situation_is_planted(self, org, situation):
        assert org.situations[situation]


    def test_recorded_users_exist_in_their_accounts(self, org):
        names = {
            account.account_id: set(keys_by_user(as_reader(org, account.account_id).client("iam")))
            for account in org.accounts
        }
        for situation, pairs in org.situations.items():
            for account_id, user_name in pairs:
                if user_name not in ("", ROOT_USER):
                    assert user_name in names[account_id], (situation, account_id, user_name)


    def test_trails_log_in_prod_and_staging_only(self, org):
        logging = {}
        for account in org.accounts:
            cloudtrail = as_reader(org, account.account_id).client("cloudtrail")
            trails = cloudtrail.describe_trails()["trailList"]
            statuses = [cloudtrail.get_trail_status(Name=trail["Name"]) for trail in trails]
            logging[account.name] = [
                (trail["IsMultiRegionTrail"], status["IsLogging"])
                for trail, status in zip(trails, statuses, strict=True)
            ]

        assert logging == {
            "prod": [(True, True)],
            "staging": [(True, True)],
            "dev": [],
            "legacy": [(True, False)],
        }
        assert {account_id for account_id, _ in org.situations["no_audit_trail"]} == {
            account_id_named(org, "dev"),
            account_id_named(org, "legacy"),
        }


    def test_only_prod_trusts_github_actions_through_an_oidc_provider(self, org):
        issuers = {}
        for account in org.accounts:
            iam = as_reader(org, account.account_id).client("iam")
            arns = [p["Arn"] for p in iam.list_open_id_connect_providers()
                    ["OpenIDConnectProviderList"]]
            issuers[account.name] = [
                iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Url"]
                for arn in arns]

        assert issuers == {"prod": ["token.actions.githubusercontent.com"], "staging": [],
                           "dev": [], "legacy": []}
        assert org.situations["github_oidc_provider"] == ((account_id_named(org, "prod"), ""),)

    def test_admin_policies_read_as_a_collector_reads_them(self, org):
        iam = as_reader(org, account_id_named(org, "prod")).client("iam")

        details = iam.get_account_authorization_details(
            Filter=["User", "Group", "LocalManagedPolicy"]
        )

        users = {user["UserName"]: user for user in details["UserDetailList"]}
        attached = [p["PolicyArn"] for p in users["terraform-prod"]["AttachedManagedPolicies"]]
        assert attached == [ADMINISTRATOR_ACCESS]
        assert ADMINISTRATOR_ACCESS not in {p["Arn"] for p in details["Policies"]}
        groups = {group["GroupName"]: group for group in details["GroupDetailList"]}
        assert "break-glass" in users["ops-breakglass"]["GroupList"]
        assert [p["PolicyArn"] for p in groups["break-glass"]["AttachedManagedPolicies"]] == [
            ADMINISTRATOR_ACCESS
        ]
        version = iam.get_policy(PolicyArn=ADMINISTRATOR_ACCESS)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=ADMINISTRATOR_ACCESS, VersionId=version)
        assert document["PolicyVersion"]["Document"]["Statement"] == [
            {"Action": "*", "Effect": "Allow", "Resource": "*"}
        ]


    def test_quarantine_policy_is_aws_managed_as_a_collector_reads_it(self, org):
        account_id, user_name = next(
            pair for pair in org.situations["key_exposed"] if pair[0] == account_id_named(
                org, "prod"))
        iam = as_reader(org, account_id).client("iam")

        details = iam.get_account_authorization_details(
            Filter=["User", "Group", "LocalManagedPolicy"]
        )

        users = {user["UserName"]: user for user in details["UserDetailList"]}
        attached = [p["PolicyArn"] for p in users[user_name]["AttachedManagedPolicies"]]
        assert attached == [QUARANTINE]
        assert QUARANTINE not in {p["Arn"] for p in details["Policies"]}
        version = iam.get_policy(PolicyArn=QUARANTINE)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=QUARANTINE, VersionId=version)
        (statement,) = document["PolicyVersion"]["Document"]["Statement"]
        assert statement["Effect"] == "Deny" and "iam:CreateAccessKey" in statement["Action"]

    def test_star_colon_star_inline_policy_is_stored_verbatim(self, org):
        account_id, user_name = org.situations["admin_star_colon_star"][0]
        iam = as_reader(org, account_id).client("iam")
        (policy_name,) = iam.list_user_policies(UserName=user_name)["PolicyNames"]

        document = iam.get_user_policy(UserName=user_name, PolicyName=policy_name)["PolicyDocument"]

        if isinstance(document, str):
            document = json.loads(document)
        assert document["Statement"][0]["Action"] == "*:*"


    def test_tags_carry_owner_variants_and_untrusted_values(self, org):
        iam = as_reader(org, account_id_named(org, "prod")).client("iam")

        def tags(user_name):
            return {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user_name)["Tags"]}

        assert tags("svc-sendgrid") == {"team": "<script>alert(1)</script>"}
        assert tags("svc-github-actions")["cost-center"].startswith("=HYPERLINK(")
        assert tags("terraform-prod") == {"OwnerEmail": "Gabriel.Santos@EXAMPLE.COM"}
        assert tags("svc-datadog")["Owner"] == "dana.kowalski@example.com"
        assert tags("svc-legacy-crm") == {"owner": "ivan.moreau@example.com"}


    def test_deleted_key_leaves_one_key_and_paths_are_kept(self, org):
        iam = as_reader(org, account_id_named(org, "prod")).client("iam")
        users = {user["UserName"]: user for user in iam.list_users()["Users"]}

        assert len(iam.list_access_keys(UserName="svc-sendgrid")["AccessKeyMetadata"]) == 1
        assert iam.list_access_keys(UserName="readonly-auditor")["AccessKeyMetadata"] == []
        assert users["ci-deploy-prod"]["Path"] == "/ci/"


    def test_reader_role_trusts_the_management_account_with_external_id(self, org):
        iam = as_reader(org, account_id_named(org, "staging")).client("iam")

        trust = iam.get_role(RoleName="KeyledgerReader")["Role"]["AssumeRolePolicyDocument"]

        if isinstance(trust, str):
            trust = json.loads(trust)
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
        assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": DEMO_EXTERNAL_ID}}


    def test_people_have_one_security_person_two_managers_and_a_leaver(self, org):
        people = org.people
        assert len(people) >= 11
        by_email = {person.email: person for person in people}
        assert [p.email for p in people if p.roles == ("security",)] == ["priya.raman@example.com"]
        managers = {p.email for p in people if p.roles == ("manager",)}
        assert len(managers) == 2
        owners = [p for p in people if not p.roles]
        assert len(owners) >= 8
        assert all(p.manager_email in managers for p in owners)
        assert by_email["ivan.moreau@example.com"].active is False
        assert {p.active for p in people} == {True, False}
        inactive = (account_id_named(org, "prod"), "svc-legacy-crm")
        assert inactive in org.situations["owner_tag_inactive"]


def test_scaled_org_has_the_requested_users_in_every_account(monkeypatch):
    _fake_aws_env(monkeypatch)
    with mock_aws():
        started = datetime.now(UTC)
        org = seed_organization(users_per_account=30, accounts=5)

        assert [a.name for a in org.accounts] == ["prod", "staging", "dev", "legacy", "acct-05"]
        for account in org.accounts:
            users = as_reader(org, account.account_id).client("iam").list_users()["Users"]
            assert len(users) == 30
        assert all(org.situations[name] for name in PROMISED_SITUATIONS)
        account_id, user_name = org.situations["rotation_overdue"][0]
        iam = as_reader(org, account_id).client("iam")
        (key,) = iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        assert (started - key["CreateDate"]).days == 200


def test_seeding_works_through_the_in_process_moto_server(moto_server):
    """``make demo``'s path: boto3 reaches moto over HTTP via AWS_ENDPOINT_URL."""
    org = seed_organization(now=NOW)

    iam = as_reader(org, account_id_named(org, "legacy")).client("iam")
    report = credential_report(iam)
    assert report["legacy-ftp"]["access_key_1_last_rotated"] == iso(NOW - timedelta(days=1500))
    assert iam.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 1


def test_refuses_to_seed_outside_moto(monkeypatch):
    _fake_aws_env(monkeypatch)

    with pytest.raises(RuntimeError, match="moto"):
        seed_organization()
