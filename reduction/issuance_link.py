"""New keys meet issuance requests: the sync's (and the live refresh's) hook.

A key that appears on the IAM user of an approved request, created at or after the
approval, is linked to it: the request is ``fulfilled`` and the key starts with a
registration made from the request's answers, through the registration service. A key that
appears with no such request, created after its account was first synced, is *issued
without a request*: counted on the overview (``keys_issued_without_request``) and told to
the security team at once. Keys already there when Keyledger first read the account are not
(nobody could have asked for them).

The hook reads nothing when no key appeared, so a sync that finds no new key costs no query
and no AWS call.
"""

from functools import partial

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery

from core.audit import audit
from governance.evaluation import evaluate_keys
from governance.models import AccessKey, AccessKeyEvent, AwsAccount, Registration, SyncRun
from governance.reconcile import ReconcileCounts
from governance.services.keys import RegistrationInput, purpose_register

from .issuance_notices import send_unrequested_key_notices
from .models import IssuanceRequest

State = IssuanceRequest.State


def _first_sync_started(account) -> Subquery:
    return Subquery(SyncRun.objects.filter(account=account, status=SyncRun.Status.SUCCEEDED)
                    .order_by("started_at").values("started_at")[:1])


def keys_issued_without_request():
    """Present keys created after their account's first successful sync that no issuance
    request was fulfilled by: the overview's count and the list it links to."""
    # No account's first sync precedes the first account Keyledger was given: keys created
    # before it are read off the (created_at) index of present keys without the per-key
    # look-up of their account's first sync (the overview counts these at every load).
    first_account_added = Subquery(AwsAccount.objects.order_by("created_at")
                                   .values("created_at")[:1])
    return AccessKey.objects.filter(
        Q(created_at__gt=first_account_added)
        & Q(created_at__gt=_first_sync_started(OuterRef("account"))),
        access_key_id__isnull=False, removed_at__isnull=True, issuance_request__isnull=True)


def issuance_keys_appeared(*, account: AwsAccount, counts: ReconcileCounts, now) -> int:
    """Link the keys that ``counts`` says appeared to their approved requests; announce the
    others that count as issued without a request. Call inside the storing transaction,
    after the reconcile. Returns how many keys were linked."""
    appeared = [row for row, kind in counts.events
                if kind == AccessKeyEvent.Kind.APPEARED and row.access_key_id]
    if not appeared:
        return 0
    approved = {request.user_name: request for request in IssuanceRequest.objects
                .select_for_update(of=("self",)).filter(account=account, state=State.APPROVED)
                .select_related("requested_by", "decided_by", "account")}
    linked, unrequested = 0, []
    for key in sorted(appeared, key=lambda row: (row.created_at is None, row.created_at)):
        request = approved.get(key.user.name)
        # AWS dates keys to the second: a key made in the second of the approval counts.
        if (request is not None and key.created_at is not None and request.decided_at
                and key.created_at >= request.decided_at.replace(microsecond=0)):
            issuance_link(request=request, key=key, now=now)
            del approved[key.user.name]
            linked += 1
        else:
            unrequested.append(key.pk)
    if unrequested:
        flagged = list(keys_issued_without_request().filter(pk__in=unrequested)
                       .values_list("pk", flat=True))
        if flagged:
            transaction.on_commit(partial(send_unrequested_key_notices.delay, flagged),
                                  robust=True)
    return linked


def issuance_link(*, request: IssuanceRequest, key: AccessKey, now) -> IssuanceRequest:
    """Fulfil ``request`` with ``key`` and register the key from the request's answers (its
    requester becomes the owner). Audited on the request and on the key; a requester who
    has left meanwhile gets the link but no registration (the key then shows its gaps)."""
    requester, decider = request.requested_by, request.decided_by
    request.state, request.issued_key, request.fulfilled_at = State.FULFILLED, key, now
    request.save(update_fields=["state", "issued_key", "fulfilled_at"])
    approved_by = decider.email if decider else "Keyledger"
    audit(actor=None, action="issuance.fulfil", obj=request, at=now,
          summary=f"access key {key} appeared on IAM user {key.user.name}: issuance request "
                  f"#{request.pk} fulfilled",
          before={"state": State.APPROVED},
          after={"state": State.FULFILLED, "access_key_id": key.access_key_id})
    registered = requester.is_active
    audit(actor=None, action="key.issued", obj=key, at=now,
          summary=f"came from issuance request #{request.pk} approved by {approved_by}"
                  + ("; registered from its answers" if registered
                     else f"; not registered ({requester.email} has left)"),
          after={"issuance_request": request.pk, "approved_by": approved_by})
    if registered:
        _register(request, key, now)
    return request


def _register(request: IssuanceRequest, key: AccessKey, now) -> Registration:
    """The registration service, as the requester: the key is first assigned to them (and
    evaluated, so they are its owner), since only a key's owner registers it."""
    key.assigned_owner = request.requested_by
    key.save(update_fields=["assigned_owner"])
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk), now=now)
    key.refresh_from_db()
    registration = purpose_register(actor=request.requested_by, key=key, data=RegistrationInput(
        category=request.category, runs_where=request.runs_where,
        justification=request.justification, why_not_iam_role=request.why_not_iam_role,
        why_not_identity_center=request.why_not_identity_center,
        why_not_sts=request.why_not_sts,
        source_restriction=", ".join(request.declared_sources)[:500],
        declared_sources=list(request.declared_sources),
        rotation_procedure=request.rotation_plan,
        deactivation_contact=request.deactivation_contact))
    return registration


def issuance_of_key(key: AccessKey) -> IssuanceRequest | None:
    """The request ``key`` was issued from (the key page links it), or None."""
    return IssuanceRequest.objects.filter(issued_key=key).only("pk", "state").first()
