"""Issuance requests (issue 17): the decision rules (the exceptions' ones, never the
requester), the verdict stored at filing, and the sync linking a new key to its approved
request or flagging it as issued without one."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from moto.iam.models import iam_backends

from core.errors import GovernanceError, NotAllowed
from governance.models import AccessKey, AuditEvent, AwsAccount, Registration, SyncRun
from governance.sync import sync_account
from reduction.issuance import (
    IssuanceInput,
    issuance_approve,
    issuance_file,
    issuance_reject,
    issuance_withdraw,
)
from reduction.issuance_link import keys_issued_without_request
from reduction.models import IssuanceRequest
from tests.conftest import account_clients
from tests.factories import AccountFactory, PersonFactory

from .conftest import DEV, PROD

pytestmark = pytest.mark.django_db

ADMIN = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
CONFINED = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::builds/*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}}]}


def answers(account_id: str, *, user_name="ci-deploy", policy=CONFINED, sources="203.0.113.0/24"):
    return IssuanceInput(
        account_id=account_id, user_name=user_name, category="ci_cd",
        runs_where="Jenkins on-premises", justification="Deploys builds to S3",
        why_not_iam_role="Jenkins runs outside AWS",
        why_not_identity_center="Not a person", why_not_sts="Jenkins has no OIDC issuer",
        policy_text=policy if isinstance(policy, str) else json.dumps(policy),
        sources_text=sources, rotation_plan="Rotated every 60 days by the pipeline",
        deactivation_contact="platform@example.com")


def filed(people, account_id, **kwargs) -> IssuanceRequest:
    return issuance_file(actor=people["owner"], data=answers(account_id, **kwargs))


# -- filing ----------------------------------------------------------------------------------

def test_filing_judges_the_policy_and_stores_the_bad_verdict_for_the_decider(people):
    account = AccountFactory()
    request = filed(people, account.account_id, policy=ADMIN)
    assert request.state == "requested"
    assert request.verdict["admin"] is True and request.verdict_is_bad
    assert "*" in request.verdict["reasons"]["admin"]
    assert request.declared_sources == ["203.0.113.0/24"]
    event = AuditEvent.objects.get(action="issuance.request", object_id=str(request.pk))
    assert event.actor == people["owner"] and event.after["admin"] is True


def test_a_confined_least_privilege_policy_is_judged_fine(people):
    request = filed(people, AccountFactory().account_id)
    assert request.verdict["admin"] is False and request.verdict["escalation"] is False
    assert request.verdict["source_restricted"] is True and not request.verdict_is_bad


@pytest.mark.parametrize(("field", "value", "named"), [
    ("policy", "{not json", "is not JSON"),
    ("sources", "203.0.113.0/33", "203.0.113.0/33"),
    ("sources", "", "at least one"),
])
def test_bad_answers_are_refused_naming_what_is_wrong(people, field, value, named):
    with pytest.raises(GovernanceError, match=named):
        filed(people, AccountFactory().account_id, **{field: value})
    assert not IssuanceRequest.objects.exists()


def test_an_unknown_account_and_a_second_open_request_are_refused(people):
    with pytest.raises(GovernanceError, match="not governed"):
        filed(people, "999999999999")
    account = AccountFactory()
    filed(people, account.account_id)
    with pytest.raises(GovernanceError, match="already open"):
        filed(people, account.account_id)


# -- deciding: the exceptions' rules, never the requester -----------------------------------

def test_the_requester_never_decides_even_from_the_security_team(people):
    request = issuance_file(actor=people["security"], data=answers(AccountFactory().account_id))
    with pytest.raises(NotAllowed, match="your own"):
        issuance_approve(actor=people["security"], request=request)
    assert IssuanceRequest.objects.get().state == "requested"


def test_by_default_only_the_security_team_decides(people):
    request = filed(people, AccountFactory().account_id)
    with pytest.raises(NotAllowed, match="security team"):
        issuance_approve(actor=people["manager"], request=request)
    assert not IssuanceRequest.objects.awaiting_decision_by(people["manager"]).exists()
    assert list(IssuanceRequest.objects.awaiting_decision_by(people["security"])) == [request]
    approved = issuance_approve(actor=people["security"], request=request, note="ok")
    assert approved.state == "approved" and approved.decided_by == people["security"]
    assert AuditEvent.objects.filter(action="issuance.approve", actor=people["security"]).exists()


def test_with_the_manager_setting_the_requesters_manager_decides_not_another(people, settings):
    settings.KEYLEDGER_ISSUANCE_APPROVERS = "manager"
    request = filed(people, AccountFactory().account_id)  # owner's manager: boss
    with pytest.raises(NotAllowed, match="boss@example.com"):
        issuance_reject(actor=people["other_manager"], request=request, note="no")
    assert list(IssuanceRequest.objects.awaiting_decision_by(people["manager"])) == [request]
    assert not IssuanceRequest.objects.awaiting_decision_by(people["other_manager"]).exists()
    assert issuance_reject(actor=people["manager"], request=request,
                           note="use OIDC").state == "rejected"


def test_with_the_manager_setting_a_requester_without_manager_goes_to_any_manager(
        people, settings):
    settings.KEYLEDGER_ISSUANCE_APPROVERS = "manager"
    request = issuance_file(actor=people["no_manager"], data=answers(AccountFactory().account_id))
    with pytest.raises(NotAllowed):
        issuance_approve(actor=people["owner"], request=request)
    assert issuance_approve(actor=people["other_manager"], request=request).state == "approved"


def test_a_request_is_decided_once_and_a_rejection_needs_a_reason(people):
    request = filed(people, AccountFactory().account_id)
    with pytest.raises(GovernanceError, match="say why"):
        issuance_reject(actor=people["security"], request=request, note=" ")
    issuance_approve(actor=people["security"], request=request)
    with pytest.raises(GovernanceError, match="already approved"):
        issuance_reject(actor=people["security"], request=request, note="changed my mind")
    with pytest.raises(GovernanceError, match="only a pending request"):
        issuance_withdraw(actor=people["owner"], request=request)


def test_only_the_requester_or_security_withdraws(people):
    request = filed(people, AccountFactory().account_id)
    with pytest.raises(NotAllowed):
        issuance_withdraw(actor=people["manager"], request=request)
    assert issuance_withdraw(actor=people["owner"], request=request).state == "withdrawn"
    assert AuditEvent.objects.filter(action="issuance.withdraw").count() == 1


def test_filing_and_deciding_tell_the_deciders_then_the_requester_once(
        people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = filed(people, AccountFactory().account_id, policy=ADMIN)
    asked = [m for m in mail.outbox if "Decide: a new access key" in m.subject]
    assert [m.to for m in asked] == [["sec@example.com"]]
    assert "ADMIN" in asked[0].body
    with django_capture_on_commit_callbacks(execute=True):
        issuance_reject(actor=people["security"], request=request, note="no admin keys")
    told = [m for m in mail.outbox if m.subject.startswith("[Keyledger] Rejected")]
    assert [m.to for m in told] == [["owner@example.com"]] and "no admin keys" in told[0].body


def test_with_the_manager_setting_the_requesters_manager_is_asked(
        people, settings, django_capture_on_commit_callbacks):
    settings.KEYLEDGER_ISSUANCE_APPROVERS = "manager"
    with django_capture_on_commit_callbacks(execute=True):
        filed(people, AccountFactory().account_id)
    asked = [m.to for m in mail.outbox if "Decide: a new access key" in m.subject]
    assert asked == [["boss@example.com"]]


# -- the sync links new keys -----------------------------------------------------------------

@pytest.fixture
def watched(aws, register_account):
    """PROD synced once with an old key on ``legacy`` (there before Keyledger: never flagged)
    and an IAM user ``ci-deploy`` without keys."""
    iam = account_clients(PROD).client("iam")
    iam.create_user(UserName="legacy")
    legacy = iam.create_access_key(UserName="legacy")["AccessKey"]["AccessKeyId"]
    iam_backends[PROD]["aws"].access_keys[legacy].create_date = \
        timezone.now() - timedelta(hours=2)
    iam.create_user(UserName="ci-deploy")
    account = register_account(PROD, "prod")
    synced(account)
    # Keyledger has watched the account for an hour (added to it just before).
    SyncRun.objects.update(started_at=timezone.now() - timedelta(hours=1))
    AwsAccount.objects.filter(pk=account.pk).update(
        created_at=timezone.now() - timedelta(hours=1, minutes=1))
    return account


def synced(account) -> SyncRun:
    run = sync_account(account=account, full_listing=True).run
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def new_key(user_name: str, *, backdate: timedelta | None = None) -> str:
    """Create a key in AWS as the person would; optionally dated earlier in moto."""
    key_id = account_clients(PROD).client("iam").create_access_key(
        UserName=user_name)["AccessKey"]["AccessKeyId"]
    if backdate is not None:
        iam_backends[PROD]["aws"].access_keys[key_id].create_date = timezone.now() - backdate
    return key_id


def test_an_approved_request_gets_the_new_key_registered_from_its_answers(people, watched):
    request = filed(people, PROD)
    issuance_approve(actor=people["security"], request=request)
    key_id = new_key("ci-deploy")
    synced(watched)
    request.refresh_from_db()
    key = AccessKey.objects.get(access_key_id=key_id)
    assert request.state == "fulfilled" and request.issued_key == key
    registration = Registration.objects.get(key=key, superseded_at__isnull=True)
    assert registration.owner == people["owner"] and registration.category == "ci_cd"
    assert registration.declared_sources == ["203.0.113.0/24"]
    assert registration.rotation_procedure.startswith("Rotated every 60 days")
    assert key.owner == people["owner"] and "NO_PURPOSE" not in key.open_code_list
    issued = AuditEvent.objects.get(action="key.issued", object_id=str(key.pk))
    assert f"request #{request.pk} approved by sec@example.com" in issued.summary
    assert AuditEvent.objects.filter(action="issuance.fulfil",
                                     object_id=str(request.pk)).count() == 1
    assert not keys_issued_without_request().exists()


def test_a_key_created_before_the_approval_is_not_linked(people, watched):
    request = filed(people, PROD)
    issuance_approve(actor=people["security"], request=request)
    key_id = new_key("ci-deploy", backdate=timedelta(minutes=5))
    synced(watched)
    request.refresh_from_db()
    assert request.state == "approved" and request.issued_key is None
    assert list(keys_issued_without_request().values_list("access_key_id", flat=True)) \
        == [key_id]


def test_a_key_on_another_user_or_for_a_pending_request_is_not_linked(people, watched):
    account_clients(PROD).client("iam").create_user(UserName="other")
    approved = filed(people, PROD)
    issuance_approve(actor=people["security"], request=approved)
    pending = filed(people, PROD, user_name="other")
    other = new_key("other")
    synced(watched)
    approved.refresh_from_db(), pending.refresh_from_db()
    assert approved.state == "approved" and pending.state == "requested"
    assert not IssuanceRequest.objects.filter(issued_key__isnull=False).exists()
    assert list(keys_issued_without_request().values_list("access_key_id", flat=True)) \
        == [other]


def test_a_key_without_a_request_is_counted_and_told_to_security_once(
        people, watched, django_capture_on_commit_callbacks):
    key_id = new_key("ci-deploy")
    with django_capture_on_commit_callbacks(execute=True):
        synced(watched)
    with django_capture_on_commit_callbacks(execute=True):
        synced(watched)
    told = [m for m in mail.outbox if "Issued without a request" in m.subject]
    assert [m.to for m in told] == [["sec@example.com"]] and key_id in told[0].subject
    assert keys_issued_without_request().count() == 1
    # The key there before the first sync is not flagged.
    assert not keys_issued_without_request().filter(user__name="legacy").exists()


def test_no_new_key_costs_the_sync_no_query_of_requests(people, watched):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        synced(watched)
    assert not any("reduction_issuancerequest" in q["sql"] for q in queries.captured_queries)


def test_the_first_sync_of_an_account_flags_nothing(people, aws, register_account):
    iam = account_clients(DEV).client("iam")
    iam.create_user(UserName="app")
    iam.create_access_key(UserName="app")
    synced(register_account(DEV, "dev"))
    assert not keys_issued_without_request().exists()


def test_the_live_refresh_links_the_same_way(people, watched):
    from governance.live import Sessions, refresh

    request = filed(people, PROD)
    issuance_approve(actor=people["security"], request=request)
    key_id = new_key("ci-deploy")
    refresh(account_id=PROD, user_names=("ci-deploy",), keys_only=True, sessions=Sessions())
    request.refresh_from_db()
    assert request.state == "fulfilled" and request.issued_key.access_key_id == key_id


def test_a_requester_who_left_gets_the_link_but_no_registration(people, watched):
    requester = PersonFactory(email="leaving@example.com")
    request = issuance_file(actor=requester, data=answers(PROD))
    issuance_approve(actor=people["security"], request=request)
    requester.is_active = False
    requester.save()
    new_key("ci-deploy")
    synced(watched)
    request.refresh_from_db()
    assert request.state == "fulfilled"
    assert not Registration.objects.filter(key=request.issued_key).exists()
    assert "has left" in AuditEvent.objects.get(action="key.issued").summary


@pytest.mark.django_db(transaction=True)
def test_two_deciders_at_once_make_one_decision():
    """An approval and a rejection racing on one request: the row lock lets one through;
    the other sees the request decided."""
    import threading

    from django.db import connection

    from tests.factories import personas

    people = personas()
    second = PersonFactory(email="sec2@example.com", roles=["security"])
    request = filed(people, AccountFactory().account_id)
    start, outcomes = threading.Barrier(2), []

    def decide(act):
        try:
            start.wait()
            act()
            outcomes.append("decided")
        except GovernanceError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(act,)) for act in (
        lambda: issuance_approve(actor=people["security"], request=request),
        lambda: issuance_reject(actor=second, request=request, note="no"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "decided" and "already" in sorted(outcomes)[1]
    decided = IssuanceRequest.objects.get()
    assert AuditEvent.objects.filter(action__in=["issuance.approve", "issuance.reject"],
                                     object_id=str(decided.pk)).count() == 1
