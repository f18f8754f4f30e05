"""Ownership and purpose of keys: assignment by the security team, registration by owners."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit
from core.errors import Conflict, GovernanceError, NotAllowed

from ..access import can_assign_owner, can_manage_key, registration_owner
from ..evaluation import evaluate_and_announce, evaluate_keys
from ..models import AccessKey, PurposeCategory, Registration
from ..sources import SourceError, parse_sources

REGISTRATION_TEXT_FIELDS = (
    "runs_where", "justification", "why_not_iam_role", "why_not_identity_center",
    "why_not_sts", "source_restriction", "rotation_procedure", "deactivation_contact",
)
# ``source_restriction`` is the free-text note on the declared sources: required only when
# nothing is declared (then it says why the key cannot be confined), filled from the list
# otherwise, so registrations made before the list existed keep reading the same.
OPTIONAL_TEXT_FIELDS = ("source_restriction",)


def _reevaluate(key: AccessKey) -> None:
    """Judge the user's keys again; findings this opens are announced once it commits (a
    registration narrowing its declared sources can open ``UNEXPECTED_SOURCE``)."""
    evaluate_and_announce(keys=AccessKey.objects.filter(user_id=key.user_id))
    key.refresh_from_db()


@transaction.atomic
def owner_assign(*, actor, key: AccessKey, person) -> AccessKey:
    """The security team names a key's owner (an active person); overrides tags. A manager
    may too, for a key their departed report left behind (``can_assign_owner``)."""
    if not can_assign_owner(actor, key):
        raise NotAllowed("only the security team assigns owners, and a manager the keys of "
                         "their reports who left")
    _assign(actor=actor, key=key, person=person)
    _reevaluate(key)
    return key


def _assign(*, actor, key: AccessKey, person) -> None:
    """Name ``person`` the key's owner and audit it; the caller re-evaluates. The audit event
    keeps the owner of record (the stored owner and why none resolves), so reassigning a
    leaver's key never loses who had it."""
    if person is None or not person.is_active:
        raise GovernanceError("the owner must be an active person")
    before = {"assigned_owner": (key.assigned_owner.email if key.assigned_owner is not None
                                 else None)}
    if key.owner_id != key.assigned_owner_id and key.owner is not None:
        before["owner"] = key.owner.email
    if key.owner_gap:
        before["owner_gap"] = key.owner_gap
    key.assigned_owner = person
    key.save(update_fields=["assigned_owner"])
    audit(actor=actor, action="key.assign_owner", obj=key,
          summary=f"assigned {person.email} as owner of {key}",
          before=before, after={"assigned_owner": person.email})


@transaction.atomic
def owners_assign(*, actor, keys, person) -> list[AccessKey]:
    """Name ``person`` the owner of each of ``keys`` (the gaps page's bulk assign): one
    transaction, an audit event per key, one evaluation of the IAM users involved. Any key
    the actor may not assign refuses the whole batch."""
    keys = list(keys)
    refused = [key for key in keys if not can_assign_owner(actor, key)]
    if refused:
        raise NotAllowed(f"you may not assign an owner to {refused[0]}")
    if not keys:
        raise GovernanceError("choose at least one key")
    for key in keys:
        _assign(actor=actor, key=key, person=person)
    evaluate_keys(keys=AccessKey.objects.filter(user_id__in={key.user_id for key in keys}))
    return keys


@dataclass(frozen=True)
class RegistrationInput:
    category: str
    runs_where: str
    justification: str
    why_not_iam_role: str
    why_not_identity_center: str
    why_not_sts: str
    source_restriction: str
    rotation_procedure: str
    deactivation_contact: str
    # CIDRs, ``vpc-`` and ``vpce-`` ids (``governance.sources``), stored canonical.
    declared_sources: tuple[str, ...] | list[str] = ()
    # (field, evidence sentence) for each "why not" the owner confirmed although the way-out
    # evidence says that alternative is available (the form asks; kept in the audit).
    confirmed_despite_evidence: tuple[tuple[str, str], ...] = ()


REGISTERED_MEANWHILE = ("someone else registered this key's purpose at the same moment; "
                        "nothing of yours was saved: review the current registration and "
                        "submit again")


@transaction.atomic
def purpose_register(*, actor, key: AccessKey, data: RegistrationInput) -> Registration:
    """Register (or re-register) a key's purpose; the registrant becomes its owner.

    Every field is required: a key exists only once a role, Identity Center and STS /
    Roles Anywhere have each been ruled out, with the reason.

    Two registrations of one key at the same moment: the first to commit wins; the other
    raises ``Conflict`` and writes nothing (it would replace a registration its author never
    saw). The database decides: superseding the registration read is conditional, and at
    most one current registration per key is a constraint.
    """
    if key.removed_at is not None:
        raise GovernanceError("this key no longer exists in AWS")
    if not can_manage_key(actor, key):
        raise NotAllowed("only the key's owner or the security team can register its purpose")
    if data.category not in PurposeCategory.values:
        raise GovernanceError(f"unknown purpose category {data.category!r}")
    try:
        declared = [source.value for source in parse_sources(data.declared_sources)]
    except SourceError as error:
        raise GovernanceError(f"declared sources: {error}") from None
    missing = [name for name in REGISTRATION_TEXT_FIELDS if not getattr(data, name).strip()
               and not (declared and name in OPTIONAL_TEXT_FIELDS)]
    if missing:
        raise GovernanceError("required: " + ", ".join(n.replace("_", " ") for n in missing))
    text = {name: getattr(data, name).strip() for name in REGISTRATION_TEXT_FIELDS}
    text["source_restriction"] = (text["source_restriction"] or ", ".join(declared))[:500]
    now = timezone.now()
    previous = Registration.objects.filter(key=key, superseded_at__isnull=True).first()
    if previous:
        # Waits for a concurrent registration that superseded it too, then matches no row.
        superseded = Registration.objects.filter(
            pk=previous.pk, superseded_at__isnull=True).update(superseded_at=now)
        if not superseded:
            raise Conflict(REGISTERED_MEANWHILE)
    owner = registration_owner(actor, key)
    try:
        with transaction.atomic():  # waits for a concurrent first registration to end
            registration = Registration.objects.create(
                key=key, owner=owner, registered_at=now,
                review_due_on=now.date() + timedelta(days=settings.KEYLEDGER_PURPOSE_REVIEW_DAYS),
                category=data.category, declared_sources=declared, **text,
            )
    except IntegrityError:
        if Registration.objects.filter(key=key, superseded_at__isnull=True).exists():
            raise Conflict(REGISTERED_MEANWHILE) from None
        raise
    if key.assigned_owner_id != owner.pk:
        key.assigned_owner = owner
        key.save(update_fields=["assigned_owner"])
    _reevaluate(key)
    audit(actor=actor, action="key.register_purpose", obj=key,
          summary=f"registered purpose {registration.get_category_display()} for {key}",
          before={"registration": previous.pk} if previous else None,
          after={"registration": registration.pk, "category": registration.category,
                 "owner": owner.email, "review_due_on": registration.review_due_on.isoformat(),
                 "declared_sources": declared,
                 **({"confirmed_despite_evidence": dict(data.confirmed_despite_evidence)}
                    if data.confirmed_despite_evidence else {})})
    return registration
