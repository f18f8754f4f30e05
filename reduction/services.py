"""Every write of reduction: migration plans (audited) and the stored AWS facts of a way out.

A plan moves ``planned -> in_progress -> replaced -> done``, forward only. An owner (or the
security team) opens it and moves it as far as ``replaced``, which needs the key to be
inactive in AWS as the last sync saw it; ``done`` needs the key gone from AWS, and only a
sync can see that (``plans_close_for_deleted_keys``), so a plan is never closed by a button.
"""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit
from core.errors import GovernanceError, NotAllowed
from governance.access import can_manage_key
from governance.aws.identity_center import IdentityCenterSnapshot, identity_center_access
from governance.aws.oidc_providers import OidcProvider as ProviderRecord
from governance.models import AccessKey, AwsAccount
from governance.way_out import Path

from .models import (
    IdentityCenterAssignment,
    IdentityCenterPerson,
    MigrationPlan,
    OidcProviderListing,
)

State = MigrationPlan.State
# Where a person may move a plan from each state; ``done`` is the sync's alone.
FORWARD: dict[str, set[str]] = {State.PLANNED: {State.IN_PROGRESS, State.REPLACED},
                                 State.IN_PROGRESS: {State.REPLACED}}


def _state(plan: MigrationPlan) -> dict:
    return {"state": plan.state, "path": plan.path, "target_date": plan.target_date.isoformat()}


@transaction.atomic
def plan_open(*, actor, key: AccessKey, path: str, target_date: date,
              notes: str = "") -> MigrationPlan:
    """The key's owner (or security) commits to replacing it by ``target_date``."""
    if not can_manage_key(actor, key):
        raise NotAllowed("only the key's owner or the security team can plan its replacement")
    if key.removed_at is not None:
        raise GovernanceError("the key is already gone from AWS")
    if path not in {p.value for p in Path} or path == Path.KEEP:
        raise GovernanceError("a plan replaces the key: choose a path other than keep")
    if target_date <= timezone.localdate():
        raise GovernanceError("the target date must be in the future")
    now = timezone.now()
    try:
        with transaction.atomic():
            plan = MigrationPlan.objects.create(
                key=key, path=path, target_date=target_date, notes=notes.strip(),
                opened_by=actor, opened_at=now, state_changed_at=now)
    except IntegrityError:
        raise GovernanceError("this key already has an open plan") from None
    audit(actor=actor, action="plan.open", obj=plan,
          summary=f"planned to replace {key} by {path} before {target_date}",
          after=_state(plan))
    return plan


@transaction.atomic
def plan_advance(*, actor, plan: MigrationPlan, state: str) -> MigrationPlan:
    """Move the plan forward: to ``in_progress``, or to ``replaced`` once the key is inactive
    in AWS (a sync saw it deactivated, by its owner or by Keyledger's responder)."""
    plan = (MigrationPlan.objects.select_for_update(of=("self",)).select_related("key")
            .get(pk=plan.pk))
    if not can_manage_key(actor, plan.key):
        raise NotAllowed("only the key's owner or the security team can move its plan")
    if state == State.DONE:
        raise GovernanceError("a plan is done when a sync sees the key deleted in AWS")
    if state not in FORWARD.get(plan.state, set()):
        raise GovernanceError(f"a {plan.get_state_display().lower()} plan cannot move to "
                              f"{state}")
    if state == State.REPLACED and plan.key.status != AccessKey.Status.INACTIVE:
        raise GovernanceError("deactivate the key in AWS first: the last sync saw it active")
    before = _state(plan)
    plan.state, plan.state_changed_at = state, timezone.now()
    plan.save(update_fields=["state", "state_changed_at"])
    audit(actor=actor, action="plan.advance", obj=plan,
          summary=f"moved the plan for {plan.key} to {plan.get_state_display().lower()}",
          before=before, after=_state(plan))
    return plan


@transaction.atomic
def plans_close_for_deleted_keys(*, account: AwsAccount | None = None,
                                 now: datetime | None = None) -> int:
    """Close (``done``) every open plan whose key a sync found gone from AWS; returns how
    many. Called by the sync, in its transaction, after reconciling the account."""
    now = now or timezone.now()
    plans = (MigrationPlan.objects.open().filter(key__removed_at__isnull=False)
             .select_for_update(of=("self",)).select_related("key"))
    if account is not None:
        plans = plans.filter(key__account=account)
    closed = 0
    for plan in plans:
        before = _state(plan)
        plan.state, plan.state_changed_at, plan.done_at = State.DONE, now, now
        plan.save(update_fields=["state", "state_changed_at", "done_at"])
        audit(actor=None, action="plan.done", obj=plan, at=now,
              summary=f"{plan.key} is gone from AWS: the plan to replace it is done",
              before=before, after=_state(plan))
        closed += 1
    return closed


@transaction.atomic
def identity_center_store(*, snapshot: IdentityCenterSnapshot, now: datetime) -> int:
    """Replace what is stored about each person the read asked for; returns how many."""
    emails = [person.email for person in snapshot.people]
    IdentityCenterPerson.objects.filter(email__in=emails).delete()
    for person in snapshot.people:
        user = person.user
        row = IdentityCenterPerson.objects.create(
            email=person.email, read_at=now, user_id=user.user_id if user else "",
            user_name=user.user_name if user else "",
            display_name=user.display_name if user else "")
        IdentityCenterAssignment.objects.bulk_create(
            IdentityCenterAssignment(person=row, account_id=a.account_id,
                                     permission_set_arn=a.permission_set_arn,
                                     permission_set_name=a.permission_set_name,
                                     via_group_id=a.via_group_id)
            for a in person.assignments)
    return len(emails)


def oidc_providers_store(*, account: AwsAccount, providers: tuple[ProviderRecord, ...],
                         now: datetime) -> OidcProviderListing:
    """Replace the account's stored OIDC providers with the ones just read (each sync).

    An unchanged listing is not written again, so an unchanged re-sync still writes no row;
    ``read_at`` is then when the account's providers were first read as they are, and the
    account's ``last_synced_at`` when they were last confirmed."""
    rows = [{"arn": p.arn, "url": p.url, "client_ids": list(p.client_ids)} for p in providers]
    listing = OidcProviderListing.objects.filter(account=account).first()
    if listing is not None and listing.providers == rows:
        return listing
    listing, _ = OidcProviderListing.objects.update_or_create(
        account=account, defaults={"read_at": now, "providers": rows})
    return listing


def identity_center_refresh(*, now: datetime | None = None) -> int:
    """Read Identity Center once for every owner of a key still in AWS and store it, dropping
    people who own none any more; returns how many people were read. Raises
    ``CollectionError`` (nothing changed) when Identity Center cannot be read. Meant to run
    once per sync round (``sync_accounts``, the periodic sync), not once per account."""
    emails = sorted({e.strip().lower() for e in AccessKey.objects.filter(
        removed_at__isnull=True, owner__isnull=False).values_list("owner__email", flat=True)})
    snapshot = identity_center_access(emails)  # outside the transaction: AWS is slow
    with transaction.atomic():
        IdentityCenterPerson.objects.exclude(email__in=emails).delete()
        return identity_center_store(snapshot=snapshot, now=now or timezone.now())
