"""Ownership, purpose registration, exceptions and evaluation history, through the services."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

import governance.services.exceptions as exception_services
from accounts.services import person_update
from core.errors import GovernanceError, NotAllowed
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AuditEvent, ExceptionRequest, Finding
from governance.services.exceptions import (
    exception_approve,
    exception_reject,
    exception_request,
    exception_revoke,
    exception_withdraw,
    exceptions_expire,
)
from governance.services.keys import (
    RegistrationInput,
    owner_assign,
    purpose_register,
)
from tests.factories import AccessKeyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def registration(**changes) -> RegistrationInput:
    values = dict(
        category="ci_cd", runs_where="GitHub Actions, org acme", justification="deploys",
        why_not_iam_role="runs outside AWS", why_not_identity_center="not a person",
        why_not_sts="runner cannot present a certificate for Roles Anywhere",
        source_restriction="GitHub runner IP ranges", rotation_procedure="monthly, scripted",
        deactivation_contact="platform on-call",
    )
    values.update(changes)
    return RegistrationInput(**values)


def open_codes(key: AccessKey) -> set[str]:
    return set(Finding.objects.filter(key=key, resolved_at__isnull=True)
               .values_list("code", flat=True))


# -- ownership -------------------------------------------------------------------------------

def test_owner_tag_resolves_to_an_active_person_case_insensitively(people):
    key = AccessKeyFactory(owner="OWNER@Example.com", evaluated=True)
    assert key.owner == people["owner"]
    assert "NO_OWNER" not in open_codes(key)


@pytest.mark.parametrize("tag, reason", [
    ("nobody@example.com", "names 'nobody@example.com', who is not a known person"),
    ("gone@example.com", "owner gone@example.com (tag owner) has left"),
])
def test_owner_tag_gaps_say_why(people, tag, reason):
    key = AccessKeyFactory(owner=tag, evaluated=True)
    assert key.owner is None and reason in key.owner_gap
    finding = Finding.objects.get(key=key, code="NO_OWNER", resolved_at__isnull=True)
    assert reason in finding.reason


def test_assignment_overrides_the_tag_and_is_audited(people):
    key = AccessKeyFactory(owner="nobody@example.com", evaluated=True)
    owner_assign(actor=people["security"], key=key, person=people["other_owner"])
    assert key.owner == people["other_owner"] and key.owner_gap == ""
    assert "NO_OWNER" not in open_codes(key)
    event = AuditEvent.objects.get(action="key.assign_owner")
    assert event.actor == people["security"]
    assert event.after["assigned_owner"] == "other@example.com"
    with pytest.raises(NotAllowed):
        owner_assign(actor=people["owner"], key=key, person=people["owner"])


def test_a_person_leaving_reopens_no_owner_on_their_keys(people):
    key = AccessKeyFactory(owner="owner@example.com", evaluated=True)
    person_update(actor=people["security"], person=people["owner"], is_active=False)
    key.refresh_from_db()
    assert key.owner is None and "has left" in key.owner_gap
    assert "NO_OWNER" in open_codes(key)


# -- purpose registration --------------------------------------------------------------------

def test_owner_registers_purpose_and_no_purpose_resolves(people):
    key = AccessKeyFactory(owner="owner@example.com", evaluated=True)
    assert "NO_PURPOSE" in open_codes(key)

    purpose_register(actor=people["owner"], key=key, data=registration())

    assert "NO_PURPOSE" not in open_codes(key)
    resolved = Finding.objects.get(key=key, code="NO_PURPOSE")
    assert resolved.resolved_at is not None and resolved.opened_at < resolved.resolved_at
    event = AuditEvent.objects.get(action="key.register_purpose")
    assert event.actor == people["owner"] and event.after["category"] == "ci_cd"


def test_registration_needs_every_reason_and_the_owner(people):
    key = AccessKeyFactory(owner="owner@example.com", evaluated=True)
    with pytest.raises(GovernanceError, match="why not sts"):
        purpose_register(actor=people["owner"], key=key, data=registration(why_not_sts=" "))
    with pytest.raises(NotAllowed):
        purpose_register(actor=people["other_owner"], key=key, data=registration())
    assert not AuditEvent.objects.filter(action="key.register_purpose").exists()


def test_registration_past_its_review_date_no_longer_counts(people):
    key = AccessKeyFactory(owner="owner@example.com", evaluated=True)
    reg = purpose_register(actor=people["owner"], key=key, data=registration())
    later = timezone.now() + timedelta(days=(reg.review_due_on - timezone.localdate()).days + 1)

    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk), now=later)

    finding = Finding.objects.get(key=key, code="NO_PURPOSE", resolved_at__isnull=True)
    assert "review" in finding.reason


# -- exceptions ------------------------------------------------------------------------------

@pytest.fixture
def overdue(people):
    """An owned, registered key whose only problem above low is rotation (200 days old)."""
    key = AccessKeyFactory(owner="owner@example.com", days_old=200, evaluated=True)
    purpose_register(actor=people["owner"], key=key, data=registration())
    key.refresh_from_db()
    return key


def waive(actor, key, code="ROTATION_OVERDUE", days=30):
    return exception_request(actor=actor, key=key, code=code, justification="vendor freeze",
                             expires_on=timezone.localdate() + timedelta(days=days))


def test_manager_approval_turns_the_key_excepted(people, overdue):
    assert "ROTATION_OVERDUE" in overdue.open_codes.split(";")
    assert overdue.compliance == "non_compliant"
    request = waive(people["owner"], overdue)

    exception_approve(actor=people["manager"], exception=request, note="ok until the freeze")

    overdue.refresh_from_db()
    codes = set(overdue.open_codes.split(";")) - {""}
    assert overdue.compliance == ("excepted" if codes <= {"ROTATION_DUE"} else "non_compliant")
    assert "ROTATION_OVERDUE" not in codes
    finding = Finding.objects.get(key=overdue, code="ROTATION_OVERDUE", resolved_at__isnull=True)
    assert finding.exception_id == request.pk
    assert list(AuditEvent.objects.filter(object_id=str(request.pk))
                .values_list("action", flat=True).order_by("at")) == [
        "exception.request", "exception.approve"]


@pytest.mark.parametrize("decider, message", [
    ("owner", "your own"),
    ("other_manager", "boss@example.com"),
    ("other_owner", "only boss@example.com"),
])
def test_who_may_not_decide(people, overdue, decider, message):
    request = waive(people["owner"], overdue)
    with pytest.raises(NotAllowed, match=message):
        exception_approve(actor=people[decider], exception=request)
    request.refresh_from_db()
    assert request.status == "requested"


def test_security_decides_and_any_manager_decides_for_people_without_one(people):
    key = AccessKeyFactory(owner="solo@example.com", days_old=200, evaluated=True)
    request = waive(people["no_manager"], key)
    with pytest.raises(NotAllowed, match="only a manager"):
        exception_approve(actor=people["other_owner"], exception=request)
    exception_approve(actor=people["other_manager"], exception=request)
    assert ExceptionRequest.objects.get(pk=request.pk).status == "approved"


@pytest.mark.parametrize("code, days, message", [
    ("ROTATION_OVERDUE", 91, "at most 90 days"),
    ("ROTATION_OVERDUE", 0, "in the future"),
    ("NO_OWNER", 30, "cannot be waived"),
    ("ROOT_KEY", 30, "cannot be waived"),
    ("UNUSED", 30, "not open on this key"),
])
def test_bad_requests_are_refused(people, overdue, code, days, message):
    with pytest.raises(GovernanceError, match=message):
        waive(people["owner"], overdue, code=code, days=days)
    assert not ExceptionRequest.objects.exists()


def test_one_open_exception_per_key_and_code(people, overdue):
    waive(people["owner"], overdue)
    with pytest.raises(GovernanceError, match="already open"):
        waive(people["owner"], overdue)


def test_reject_withdraw_and_revoke(people, overdue):
    request = waive(people["owner"], overdue)
    with pytest.raises(GovernanceError, match="say why"):
        exception_reject(actor=people["manager"], exception=request, note="")
    exception_reject(actor=people["manager"], exception=request, note="rotate it instead")
    assert ExceptionRequest.objects.get(pk=request.pk).status == "rejected"

    second = waive(people["owner"], overdue)
    exception_withdraw(actor=people["owner"], exception=second)
    assert ExceptionRequest.objects.get(pk=second.pk).status == "withdrawn"

    third = waive(people["owner"], overdue)
    exception_approve(actor=people["security"], exception=third)
    exception_revoke(actor=people["security"], exception=third, note="incident")
    overdue.refresh_from_db()
    assert "ROTATION_OVERDUE" in overdue.open_codes and overdue.compliance == "non_compliant"
    actions = list(AuditEvent.objects.filter(object_type="ExceptionRequest")
                   .values_list("action", flat=True))
    assert sorted(actions) == sorted(["exception.request", "exception.reject",
                                      "exception.request", "exception.withdraw",
                                      "exception.request", "exception.approve",
                                      "exception.revoke"])


def test_expiry_reopens_the_finding_and_is_audited(people, overdue):
    request = waive(people["owner"], overdue, days=5)
    exception_approve(actor=people["manager"], exception=request)

    expired = exceptions_expire(today=timezone.localdate() + timedelta(days=6))

    assert expired == 1
    request.refresh_from_db()
    overdue.refresh_from_db()
    assert request.status == "expired"
    assert "ROTATION_OVERDUE" in overdue.open_codes and overdue.compliance == "non_compliant"
    event = AuditEvent.objects.get(action="exception.expire")
    assert event.actor is None and event.actor_label == "system"


# -- the key's owner never decides; an approval never extends nor approves a passed expiry ---

@pytest.fixture
def bosss_key(people):
    """A key the manager owns (owner tag), 200 days old; the security team asks to waive."""
    key = AccessKeyFactory(owner="boss@example.com", days_old=200, evaluated=True)
    assert key.owner == people["manager"]
    return key, waive(people["security"], key)  # security has no manager: any manager decides


@pytest.mark.parametrize("decide", [
    lambda actor, request: exception_approve(actor=actor, exception=request),
    lambda actor, request: exception_reject(actor=actor, exception=request, note="no"),
], ids=["approve", "reject"])
def test_the_keys_owner_may_not_decide_an_exception_on_it(people, bosss_key, decide):
    _key, request = bosss_key
    with pytest.raises(NotAllowed, match="you own this key"):
        decide(people["manager"], request)
    request.refresh_from_db()
    assert request.status == "requested" and request.decided_by is None
    assert not AuditEvent.objects.filter(action__in=["exception.approve",
                                                     "exception.reject"]).exists()
    decide(people["other_manager"], request)  # any other manager may
    request.refresh_from_db()
    assert request.decided_by == people["other_manager"]
    assert request.key_owner_at_decision == people["manager"]  # recorded with the decision


def test_a_security_member_who_owns_the_key_may_not_decide_either(people):
    owner = PersonFactory(email="sec-owner@example.com", roles=["security"])
    key = AccessKeyFactory(owner="sec-owner@example.com", days_old=200, evaluated=True)
    request = waive(people["security"], key)
    with pytest.raises(NotAllowed, match="you own this key"):
        exception_approve(actor=owner, exception=request)
    assert ExceptionRequest.objects.get(pk=request.pk).status == "requested"


def test_when_the_requesters_manager_owns_the_key_only_security_decides(people):
    requester = PersonFactory(email="sec2@example.com", roles=["security"],
                              manager=people["manager"])
    key = AccessKeyFactory(owner="boss@example.com", days_old=200, evaluated=True)
    request = waive(requester, key)
    with pytest.raises(NotAllowed, match="you own this key"):
        exception_approve(actor=people["manager"], exception=request)
    with pytest.raises(NotAllowed, match="only the security team can decide"):
        exception_approve(actor=people["other_manager"], exception=request)
    exception_approve(actor=people["security"], exception=request)


def test_the_owner_is_the_one_at_decision_time(people, bosss_key):
    """Ownership is read when deciding: handing the key over frees the former owner to
    decide, and makes the new owner one who may not."""
    key, request = bosss_key
    owner_assign(actor=people["security"], key=key, person=people["other_manager"])
    with pytest.raises(NotAllowed, match="you own this key"):
        exception_approve(actor=people["other_manager"], exception=request)
    exception_approve(actor=people["manager"], exception=request)
    request.refresh_from_db()
    assert request.key_owner_at_decision == people["other_manager"]


def test_the_awaiting_list_leaves_out_requests_on_the_persons_own_keys(people, bosss_key):
    _key, request = bosss_key
    assert request not in ExceptionRequest.objects.awaiting_decision_by(people["manager"])
    assert request in ExceptionRequest.objects.awaiting_decision_by(people["other_manager"])


def test_the_database_refuses_a_decision_by_the_keys_owner(people, bosss_key, monkeypatch):
    """Whatever the code does: a raw update, or the service with its check removed."""
    _key, request = bosss_key
    decided = {"status": "approved", "decided_by": people["manager"],
               "decided_at": timezone.now()}
    for status in ("approved", "rejected"):
        with pytest.raises(IntegrityError, match="exception_not_decided_by_key_owner|owner"), \
                transaction.atomic():
            ExceptionRequest.objects.filter(pk=request.pk).update(
                **{**decided, "status": status, "key_owner_at_decision": None})
    monkeypatch.setattr(exception_services, "decision_refusal", lambda actor, exception: "")
    with pytest.raises(IntegrityError), transaction.atomic():
        exception_approve(actor=people["manager"], exception=request)
    assert ExceptionRequest.objects.get(pk=request.pk).status == "requested"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres trigger")
def test_the_database_records_the_owner_itself_and_keeps_it(people, bosss_key):
    """The owner at decision time comes from the key row, not from the statement, and no
    later update rewrites it (revoking after the key changed hands still works)."""
    key, request = bosss_key
    ExceptionRequest.objects.filter(pk=request.pk).update(
        status="approved", decided_by=people["other_manager"], decided_at=timezone.now(),
        key_owner_at_decision=people["security"])
    request.refresh_from_db()
    assert request.key_owner_at_decision == people["manager"]
    ExceptionRequest.objects.filter(pk=request.pk).update(key_owner_at_decision=None)
    request.refresh_from_db()
    assert request.key_owner_at_decision == people["manager"]
    owner_assign(actor=people["security"], key=key, person=people["other_manager"])
    exception_revoke(actor=people["security"], exception=request, note="handed over")
    assert ExceptionRequest.objects.get(pk=request.pk).status == "revoked"


def test_an_approval_may_shorten_the_expiry_but_never_extend_it(people, overdue):
    request = waive(people["owner"], overdue, days=30)
    requested = request.expires_on
    with pytest.raises(GovernanceError, match="not extend it"):
        exception_approve(actor=people["manager"], exception=request,
                          expires_on=requested + timedelta(days=1))
    request.refresh_from_db()
    assert request.status == "requested" and request.expires_on == requested
    exception_approve(actor=people["manager"], exception=request,
                      expires_on=requested - timedelta(days=10))
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.expires_on == requested - timedelta(days=10)


@pytest.mark.parametrize("days_ago, message", [(1, "has passed"), (30, "has passed"),
                                               (0, "is today, not in the future")])
def test_a_request_whose_expiry_is_not_in_the_future_cannot_be_approved(people, overdue,
                                                                         days_ago, message):
    request = waive(people["owner"], overdue, days=30)
    past = timezone.localdate() - timedelta(days=days_ago)
    ExceptionRequest.objects.filter(pk=request.pk).update(expires_on=past)  # time went by
    request.refresh_from_db()
    with pytest.raises(GovernanceError, match=message):
        exception_approve(actor=people["manager"], exception=request)
    with pytest.raises(GovernanceError, match=message):
        exception_approve(actor=people["manager"], exception=request,
                          expires_on=timezone.localdate() + timedelta(days=5))
    request.refresh_from_db()
    assert request.status == "requested" and request.expires_on == past
    exception_reject(actor=people["manager"], exception=request, note="ask again")


# -- evaluation history ----------------------------------------------------------------------

def test_findings_open_resolve_and_reopen_with_their_times(people):
    key = AccessKeyFactory(owner="owner@example.com", evaluated=True)
    key.user.password_enabled = True
    key.user.save()
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    first = Finding.objects.get(key=key, code="HUMAN_USER_KEY")

    key.user.password_enabled = False
    key.user.save()
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    key.user.password_enabled = True
    key.user.save()
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))

    rows = list(Finding.objects.filter(key=key, code="HUMAN_USER_KEY").order_by("opened_at"))
    assert len(rows) == 2 and rows[0].pk == first.pk
    assert rows[0].resolved_at is not None and rows[1].resolved_at is None


def test_inactive_keys_raise_nothing(people):
    key = AccessKeyFactory(owner="nobody@example.com", status="Inactive", days_old=900,
                           evaluated=True)
    assert open_codes(key) == set()
    assert key.compliance == "compliant" and key.open_codes == ""
