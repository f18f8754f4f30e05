"""The two Permissions/Updates codes of issue 11 through evaluation and sync: a key AWS found
in public (``KEY_EXPOSED``) and a user that can make itself admin (``PRIVILEGE_ESCALATION``)."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends

from governance import evaluation
from governance.aws.documents import document_digest
from governance.evaluation import evaluate_keys
from governance.iam_policy import PermissionVerdict
from governance.models import AccessKey, Finding, PolicyDocument
from governance.policy import RULES
from governance.sync import sync_account
from tests.conftest import account_clients
from tests.factories import NOW, AccessKeyFactory, IamUserFactory, PersonFactory

pytestmark = pytest.mark.django_db

QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
LOOK_ALIKE = "arn:aws:iam::111122223333:policy/AWSCompromisedKeyQuarantineV2"


def attached(arn: str, *, group: str = "", digest: str = "") -> dict:
    """A stored policy entry as reconcile writes it (``digest`` empty: document unread)."""
    return {"source": "group-attached" if group else "user-attached",
            "name": arn.rsplit("/", 1)[1], "arn": arn, "group": group, "digest": digest}


def open_findings(code: str) -> dict[int, str]:
    return dict(Finding.objects.filter(code=code, resolved_at__isnull=True)
                .values_list("key_id", "reason"))


def test_every_active_key_of_a_quarantined_user_is_exposed_and_inactive_ones_are_not():
    user = IamUserFactory(policies=[attached(QUARANTINE)])
    first, second = AccessKeyFactory(user=user), AccessKeyFactory(user=user)
    retired = AccessKeyFactory(user=user, status=AccessKey.Status.INACTIVE)
    elsewhere = AccessKeyFactory()

    evaluate_keys()

    exposed = open_findings("KEY_EXPOSED")
    assert set(exposed) == {first.pk, second.pk}
    assert set(exposed.values()) == {
        'AWS quarantined the user (attached policy "AWSCompromisedKeyQuarantineV2" (user)): it '
        "found one of the user's keys in public; replace the key and deactivate it"}
    first.refresh_from_db()
    assert "KEY_EXPOSED" in first.open_code_list and first.compliance == "non_compliant"
    assert retired.pk not in exposed and elsewhere.pk not in exposed


def test_a_quarantine_through_a_group_names_the_group():
    key = AccessKeyFactory(user=IamUserFactory(
        policies=[attached("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3",
                           group="contractors")]))

    evaluate_keys()

    assert open_findings("KEY_EXPOSED") == {key.pk: (
        'AWS quarantined the user (attached policy "AWSCompromisedKeyQuarantineV3" (group '
        '"contractors")): it found one of the user\'s keys in public; replace the key and '
        "deactivate it")}


def test_users_differing_only_in_the_policy_arn_are_judged_apart():
    """A customer policy borrowing AWS's name is not a quarantine, even when every other part
    of its entry (source, name, document, group) equals a real one's in the same run."""
    digest = document_digest({"Statement": []})
    PolicyDocument.objects.create(digest=digest, document={"Statement": []})
    real = AccessKeyFactory(user=IamUserFactory(policies=[attached(QUARANTINE, digest=digest)]))
    fake = AccessKeyFactory(user=IamUserFactory(policies=[attached(LOOK_ALIKE, digest=digest)]))
    again = AccessKeyFactory(user=IamUserFactory(policies=[attached(QUARANTINE, digest=digest)]))

    evaluate_keys()

    assert set(open_findings("KEY_EXPOSED")) == {real.pk, again.pk}
    assert fake.pk not in open_findings("KEY_EXPOSED")


def test_lifting_the_quarantine_resolves_the_finding():
    key = AccessKeyFactory(user=IamUserFactory(policies=[attached(QUARANTINE)]))
    evaluate_keys()
    key.user.policies = []
    key.user.save(update_fields=["policies"])

    evaluate_keys()

    assert open_findings("KEY_EXPOSED") == {}
    assert Finding.objects.get(key=key, code="KEY_EXPOSED").resolved_at is not None


def test_an_escalation_verdict_becomes_an_open_finding_with_its_reason(monkeypatch):
    path = 'inline policy "launch" (user) allows "iam:PassRole" with "ec2:RunInstances" on "*"'
    monkeypatch.setattr(evaluation, "analyse_permissions", lambda policies: PermissionVerdict(
        False, "no admin", True, "guarded", True, path))
    key = AccessKeyFactory()

    result = evaluate_keys()

    assert open_findings("PRIVILEGE_ESCALATION") == {key.pk: path}
    assert result.opened_by_code["PRIVILEGE_ESCALATION"] == 1
    assert "ADMIN_PRIVILEGE" not in result.open_by_code


def test_evaluation_counts_what_it_newly_opened():
    AccessKeyFactory(user=IamUserFactory(policies=[attached(QUARANTINE)]))

    first, again = evaluate_keys(), evaluate_keys()

    assert first.opened_by_code["KEY_EXPOSED"] == 1
    assert again.opened_by_code == {} and again.open_by_code["KEY_EXPOSED"] == 1


def test_every_rule_says_what_its_owner_must_do():
    assert all(rule.fix for rule in RULES.values())
    assert RULES["KEY_EXPOSED"].fix.startswith("Replace the key now")


# -- through a sync, on moto -----------------------------------------------------------------

ACCOUNT = "333333333333"


def add_quarantine_policy(account_id: str) -> None:
    """AWS's quarantine policy in moto (loading every AWS-managed policy costs seconds)."""
    name = QUARANTINE.rsplit("/", 1)[1]
    data = json.loads(aws_managed_policies_data)[name]
    policy = AWSManagedPolicy.from_data(name, account_id, "us-east-1", data)
    backend = iam_backends[account_id]["aws"]
    backend.managed_policies[policy.arn] = policy
    backend.aws_managed_policies.append(policy)


@pytest.fixture
def quarantined_group_member(aws, register_account):
    """Account with user "leaky" (owned by owner@) in a group AWS quarantined, and "tidy"."""
    add_quarantine_policy(ACCOUNT)
    iam = account_clients(ACCOUNT).client("iam")
    iam.create_group(GroupName="contractors")
    iam.attach_group_policy(GroupName="contractors", PolicyArn=QUARANTINE)
    for name in ("leaky", "tidy"):
        iam.create_user(UserName=name, Tags=[{"Key": "owner", "Value": "owner@example.com"}])
        iam.create_access_key(UserName=name)
    iam.add_user_to_group(GroupName="contractors", UserName="leaky")
    PersonFactory(email="owner@example.com")
    PersonFactory(email="sec@example.com", roles=["security"])
    return register_account(ACCOUNT)


def test_sync_stores_the_group_quarantine_and_opens_key_exposed(quarantined_group_member):
    run = sync_account(account=quarantined_group_member).run

    assert run.status == "succeeded", run.error
    assert (run.aws_calls_by_action.get("iam:GetPolicy"),
            run.aws_calls_by_action.get("iam:GetPolicyVersion")) == (1, 1)
    leaky = AccessKey.objects.get(user__name="leaky")
    [entry] = leaky.user.policies
    assert {name: entry[name] for name in ("source", "name", "arn", "group")} == {
        "source": "group-attached", "name": "AWSCompromisedKeyQuarantineV2", "arn": QUARANTINE,
        "group": "contractors"}
    assert PolicyDocument.objects.filter(digest=entry["digest"]).exists()  # document read
    assert open_findings("KEY_EXPOSED") == {leaky.pk: (
        'AWS quarantined the user (attached policy "AWSCompromisedKeyQuarantineV2" (group '
        '"contractors")): it found one of the user\'s keys in public; replace the key and '
        "deactivate it")}


def test_a_sync_that_opens_key_exposed_tells_security_and_the_owner_at_once(
        quarantined_group_member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sync_account(account=quarantined_group_member)

    leaky = AccessKey.objects.get(user__name="leaky")
    subjects = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert subjects == [
        ("owner@example.com",
         f"[Keyledger] AWS found your access key {leaky} in public: replace it now"),
        ("sec@example.com", f"[Keyledger] Critical: KEY_EXPOSED in {leaky.account.name} "
                            f"({ACCOUNT})"),
    ]

    with django_capture_on_commit_callbacks(execute=True):  # nothing new opened: no repeat
        sync_account(account=quarantined_group_member)
    assert len(mail.outbox) == 2


def test_a_sync_opening_only_lesser_findings_sends_nothing_at_once(
        aws, register_account, django_capture_on_commit_callbacks):
    iam = account_clients(ACCOUNT).client("iam")
    iam.create_user(UserName="svc")
    iam.create_access_key(UserName="svc")
    PersonFactory(email="sec@example.com", roles=["security"])
    backend = iam_backends[ACCOUNT]["aws"]
    for key in backend.access_keys.values():
        key.create_date = NOW.replace(tzinfo=None, microsecond=0) - timedelta(days=200)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sync_account(account=register_account(ACCOUNT))

    assert len(callbacks) >= 1  # findings opened (ROTATION_OVERDUE, NO_OWNER ...): announced
    assert open_findings("ROTATION_OVERDUE") and mail.outbox == []
