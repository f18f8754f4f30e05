"""The demo organization shows each rule firing exactly where DESIGN.md says, nowhere else."""

import copy
import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.test import override_settings
from moto import mock_aws

from accounts.people_import import parse_people_csv, people_import
from demo.activity import DECLARED_USER, register_declared_key, seed_trail
from demo.seed import DEMO_EXTERNAL_ID, seed_organization
from governance.models import AccessKey, AwsAccount, Finding
from governance.policy import RULES
from governance.sync import sync_account
from tests.conftest import fake_aws_credentials, shared_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _demo_findings(django_db_setup, django_db_blocker):
    """Seeded and synced once for the module (in one transaction its tests nest in, rolled
    back after them): the tests only read what the sync found."""
    with shared_transaction(django_db_blocker):
        with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as monkeypatch, \
                mock_aws():
            fake_aws_credentials(monkeypatch)
            findings = _seed_and_sync()
        yield findings


@pytest.fixture
def demo_findings(_demo_findings, db):
    """A copy for each test: reading a ``defaultdict`` adds keys a later test would count."""
    return copy.deepcopy(_demo_findings)


def _seed_and_sync():
    org = seed_organization()
    people_import(rows=parse_people_csv(
        ["email,name,manager_email,roles,active"]
        + [f"{p.email},{p.name},{p.manager_email},{' '.join(p.roles)},{str(p.active).lower()}"
           for p in org.people]))
    for account in org.accounts:
        registered = AwsAccount.objects.create(
            account_id=account.account_id, name=account.name, external_id=DEMO_EXTERNAL_ID,
            role_arn=f"arn:aws:iam::{account.account_id}:role/{org.reader_role_name}")
        assert sync_account(account=registered).run.status == "succeeded"
    # The organization trail, read, and the key registered with declared sources: as
    # run_demo does (UNEXPECTED_SOURCE needs both).
    trail = seed_trail(org)
    with override_settings(KEYLEDGER_TRAIL_BUCKET=trail.bucket):
        call_command("read_trail", stdout=io.StringIO())
    register_declared_key(trail)
    where = defaultdict(set)
    for account_id, user, code in Finding.objects.filter(resolved_at__isnull=True).values_list(
            "key__account__account_id", "key__user__name", "code"):
        where[code].add((account_id, user))
    with_active_keys = set(AccessKey.objects.filter(status="Active").values_list(
        "account__account_id", "user__name"))
    situations = {name: set(entries) for name, entries in org.situations.items()}
    return org, where, with_active_keys, situations


def test_every_finding_code_fires_in_the_demo(demo_findings):
    _org, where, _active, _situations = demo_findings
    assert set(RULES) <= set(where), sorted(set(RULES) - set(where))


def test_rules_fire_exactly_on_their_situations(demo_findings):
    _org, where, active, s = demo_findings

    def planted(*names):
        return set().union(*(s[n] for n in names)) & active

    assert where["ROTATION_OVERDUE"] == planted("rotation_overdue")
    assert where["ROTATION_DUE"] == planted("rotation_due")
    assert s["rotation_boundary_91"] & active <= where["ROTATION_OVERDUE"]
    assert not (s["rotation_boundary_90"] & where["ROTATION_OVERDUE"])
    assert where["UNUSED"] == planted("unused_never", "unused_stale")
    assert where["MULTIPLE_ACTIVE_KEYS"] == planted("multiple_active_keys")
    assert where["HUMAN_USER_KEY"] == planted("human_user_key")
    assert where["NO_OWNER"] == planted("no_owner_tag", "owner_tag_unknown",
                                        "owner_tag_inactive")
    assert where["ADMIN_PRIVILEGE"] == planted("admin_inline", "admin_star_colon_star",
                                               "admin_via_group", "admin_managed",
                                               "admin_not_action")
    assert where["PRIVILEGE_ESCALATION"] == planted("escalation_pass_role",
                                                    "escalation_via_group")
    assert where["KEY_EXPOSED"] == planted("key_exposed")
    restricted = planted("source_restricted_deny", "source_restricted_vpce_allows")
    assert restricted and not (restricted & where["NO_SOURCE_RESTRICTION"])
    assert planted("source_partial") <= where["NO_SOURCE_RESTRICTION"]
    assert {a for a, _ in where["ROOT_KEY"]} == {a for a, _ in s["root_key"]}
    untrailed = {a for a, _ in s["no_trail"] | s["trail_not_logging"]}
    assert {a for a, _ in where["NO_AUDIT_TRAIL"]} == untrailed
    assert where["NO_PURPOSE"] >= active - {u for u in active if u[1] == "<root_account>"} \
        - where["UNEXPECTED_SOURCE"]  # the one registered key
    prod = next(a.account_id for a in _org.accounts if a.name == "prod")
    assert where["UNEXPECTED_SOURCE"] == {(prod, DECLARED_USER)}


def test_power_user_shape_is_neither_admin_nor_a_path_to_admin(demo_findings):
    """NotAction iam:*, organizations:*, account:* on "*" (PowerUserAccess): IAM is out of
    reach, iam:PassRole with it; the users planting only that shape get neither finding."""
    _org, where, active, s = demo_findings
    power_users = s["power_user_not_admin"] & active
    assert len(power_users) >= 3
    assert not power_users & where["ADMIN_PRIVILEGE"]
    assert not power_users & where["PRIVILEGE_ESCALATION"]


def test_exposed_key_findings_name_the_quarantine_and_spare_inactive_keys(demo_findings):
    _org, _where, active, s = demo_findings
    exposed = set(Finding.objects.filter(code="KEY_EXPOSED", resolved_at__isnull=True)
                  .values_list("key__account__account_id", "key__user__name", "reason"))
    quarantined = s["key_exposed"]
    assert quarantined - active, "a quarantined user with only an inactive key is planted"
    assert {(a, u) for a, u, _ in exposed} == quarantined & active
    assert {reason for *_, reason in exposed} == {
        'AWS quarantined the user (attached policy "AWSCompromisedKeyQuarantineV2" (user)): '
        "it found one of the user's keys in public; replace the key and deactivate it"}
    assert not AccessKey.objects.filter(
        status="Active", findings__code="KEY_EXPOSED", findings__resolved_at__isnull=True,
        user__name__in=[u for _, u in quarantined - active]).exists()
