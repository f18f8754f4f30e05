"""Syncing accounts: the one service that the command, the tasks and the UI all call.

A run claims the account (one running SyncRun per account, a database constraint, so two
workers on two machines cannot sync one account at once), collects a complete snapshot
from AWS, and only then reconciles it in one transaction. A collection that fails at any
point changes nothing stored; the run records why, with its cost in AWS calls.

Keys are listed (ListAccessKeys) only for users whose credential-report slots differ from the
stored keys, except in a *full listing*, which lists every user the report shows with keys.
The report cannot reveal a key deleted and recreated in the same second, unused and with the
same status, so a full listing runs when the last one is older than
``KEYLEDGER_FULL_LISTING_HOURS`` (default 24), on the first sync, and on demand
(``sync_accounts --full``, the task's ``full_listing``).

The same collection reads the account's IAM OIDC providers (a key's ``oidc_federation`` way
out, DESIGN.md "Fewer keys"), and the storing transaction closes the migration plans of keys
it found gone: a plan is ``done`` only when a sync has seen its key deleted. Keys that
appeared are linked to their approved issuance requests there too
(``reduction.issuance_link``: no query when none appeared, no AWS call ever). Identity Center
is read once per sync *round*, not per account (``identity_center_round``).
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from reduction.issuance_link import issuance_keys_appeared
from reduction.services import (
    identity_center_refresh,
    oidc_providers_store,
    plans_close_for_deleted_keys,
)

from .aws.collector import Collector
from .aws.documents import document_digest
from .aws.errors import CollectionError
from .aws.oidc_providers import oidc_providers
from .aws.session import session_for
from .aws.snapshots import KeySnapshot
from .evaluation import evaluate_and_announce
from .models import (
    AccessKey,
    AwsAccount,
    AwsManagedPolicy,
    PolicyDocument,
    SyncAbandoned,
    SyncRun,
)
from .reconcile import reconcile_account

log = logging.getLogger("keyledger.sync")


class SyncAlreadyRunning(Exception):
    """Another worker is syncing this account; ``run`` is its SyncRun."""

    def __init__(self, run: SyncRun):
        super().__init__(f"a sync of {run.account.account_id} is already running "
                         f"(started {run.started_at:%Y-%m-%d %H:%M:%S} UTC)")
        self.run = run


@dataclass(frozen=True)
class SyncOutcome:
    run: SyncRun
    retryable: bool = False


class DatabaseManagedPolicyStore:
    """AWS-managed policy documents shared by every account's sync, refreshed after a TTL."""

    def __init__(self, now=None):
        now = now or timezone.now()
        fresh_after = now - timedelta(hours=settings.KEYLEDGER_MANAGED_POLICY_TTL_HOURS)
        self._now = now
        self._cache = {
            row.arn: row.document.document
            for row in AwsManagedPolicy.objects.filter(fetched_at__gt=fresh_after)
            .select_related("document")
        }

    def get(self, arn: str):
        return self._cache.get(arn)

    def put(self, arn: str, version_id: str, document) -> None:
        digest = document_digest(document)
        PolicyDocument.objects.get_or_create(digest=digest, defaults={"document": document})
        AwsManagedPolicy.objects.update_or_create(
            arn=arn, defaults={"version_id": version_id[:20], "document_id": digest,
                               "fetched_at": self._now},
        )
        self._cache[arn] = document


def expire_abandoned_runs(*, now=None, account: AwsAccount | None = None) -> int:
    """Fail runs whose worker stopped giving signs of life, releasing their accounts."""
    now = now or timezone.now()
    runs = SyncRun.objects.stale(now=now)
    if account is not None:
        runs = runs.filter(account=account)
    return runs.abandon(now=now)


def begin_run(*, account: AwsAccount, trigger: str) -> SyncRun:
    """Claim the account for a new run, or raise SyncAlreadyRunning."""
    expire_abandoned_runs(account=account)
    try:
        return SyncRun.start(account=account, trigger=trigger)
    except IntegrityError:
        running = SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING).first()
        if running is None:  # it finished in between: try once more
            return begin_run(account=account, trigger=trigger)
        raise SyncAlreadyRunning(running) from None


def _fail(run: SyncRun, calls: Counter, kind: str, message: str) -> SyncRun:
    """End ``run`` as failed and log why; a run expired meanwhile stays abandoned."""
    try:
        run.fail(kind=kind, message=message, calls=calls)
    except SyncAbandoned:
        log.warning("sync %s failed (%s) after its run was expired as abandoned: %s",
                    run.account.account_id, kind, message, extra=_log_fields(run))
        return run
    log.warning("sync %s failed (%s): %s", run.account.account_id, kind, message,
                extra=_log_fields(run))
    return run


def _log_fields(run: SyncRun) -> dict:
    """The run as structured log fields, so one JSON line per run can be searched and graphed
    by account, outcome and cost without parsing the message."""
    return {
        "event": "sync_run", "account_id": run.account.account_id, "sync_run_id": run.pk,
        "status": run.status, "failure_kind": run.failure_kind, "trigger": run.trigger,
        "aws_calls": run.aws_calls, "rows_written": run.rows_written,
        "users_seen": run.users_seen, "keys_seen": run.keys_seen,
        "seconds": round((run.finished_at - run.started_at).total_seconds(), 3)
        if run.finished_at and run.started_at else None,
    }


def full_listing_due(account: AwsAccount, *, now=None) -> bool:
    """Whether this account's keys must all be listed: never listed, or not for too long."""
    hours = settings.KEYLEDGER_FULL_LISTING_HOURS
    now = now or timezone.now()
    return account.keys_listed_at is None or account.keys_listed_at <= now - timedelta(hours=hours)


def stored_keys(account: AwsAccount) -> dict[str, tuple[KeySnapshot, ...]]:
    """The account's present IAM-user keys as the last sync stored them, by AWS user id.

    One query whatever the number of keys; root keys are left out (the report alone says
    everything about them).
    """
    by_user: dict[str, list[KeySnapshot]] = {}
    rows = (AccessKey.objects.filter(account=account, removed_at__isnull=True,
                                     access_key_id__isnull=False)
            .values_list("user__user_id", "access_key_id", "status", "created_at",
                         "last_used_at", "last_used_service", "last_used_region"))
    for user_id, key_id, status, created, used_at, service, region in rows:
        by_user.setdefault(user_id, []).append(KeySnapshot(
            user_id=user_id, access_key_id=key_id, status=status, created_at=created,
            last_used_at=used_at, last_used_service=service, last_used_region=region))
    return {user_id: tuple(keys) for user_id, keys in by_user.items()}


def sync_account(*, account: AwsAccount, trigger: str = SyncRun.Trigger.COMMAND,
                 full_listing: bool = False) -> SyncOutcome:
    """Sync one account now, in this process. Raises SyncAlreadyRunning if it is busy.

    ``full_listing`` lists every key holder's keys even when it is not due (see the module).
    """
    run = begin_run(account=account, trigger=trigger)
    calls: Counter = Counter()
    full_listing = full_listing or full_listing_due(account, now=run.started_at)
    try:
        session = session_for(account_id=account.account_id, role_arn=account.role_arn,
                              external_id=account.external_id, calls=calls)
        collector = Collector(
            session, DatabaseManagedPolicyStore(),
            poll_first_seconds=settings.KEYLEDGER_REPORT_POLL_FIRST_SECONDS,
            poll_max_seconds=settings.KEYLEDGER_REPORT_POLL_MAX_SECONDS,
            on_phase=run.beat,
            stored_keys=None if full_listing else stored_keys(account),
        )
        snapshot = collector.collect()
        if snapshot.account_id != account.account_id:
            raise CollectionError("error", "collected a different account than asked")
        run.beat("reading OIDC providers")
        providers = oidc_providers(session)  # part of the snapshot: unreadable fails the run
    except CollectionError as exc:
        return SyncOutcome(_fail(run, calls, exc.kind, exc.message), retryable=exc.retryable)
    except Exception as exc:
        log.exception("sync %s: unexpected error", account.account_id)
        _fail(run, calls, SyncRun.FailureKind.ERROR, f"internal error: {type(exc).__name__}")
        raise
    run.beat("storing")
    now = timezone.now()
    try:
        with transaction.atomic():
            counts = reconcile_account(account=account, snapshot=snapshot, now=now, sync_run=run)
            issuance_keys_appeared(account=account, counts=counts, now=now)
            plans_close_for_deleted_keys(account=account, now=now)
            oidc_providers_store(account=account, providers=providers, now=now)
            evaluate_and_announce(account=account,
                                  keys=AccessKey.objects.filter(account=account), now=now)
            run.succeed(counts=counts, calls=calls)
            bookkeeping = {"last_synced_at": run.finished_at}
            if snapshot.full_listing:  # as of the start: later changes await the next one
                bookkeeping["keys_listed_at"] = run.started_at
            AwsAccount.objects.filter(pk=account.pk).update(**bookkeeping)
            for name, value in bookkeeping.items():
                setattr(account, name, value)
    except SyncAbandoned as abandoned:  # expired while it worked: another run may own it
        log.warning("sync %s: %s", account.account_id, abandoned)
        return SyncOutcome(run)
    except Exception as exc:
        log.exception("sync %s: storing failed", account.account_id)
        try:
            run.refresh_from_db()  # rolled back: it may have succeeded in memory only
            _fail(run, calls, SyncRun.FailureKind.ERROR,
                  f"storing failed: {type(exc).__name__}; nothing was changed")
        except Exception:  # the database itself is gone; the run expires by heartbeat
            log.exception("sync %s: could not record the failure", account.account_id)
        raise
    log.info("sync %s succeeded: %d users, %d keys, %d rows written, %d AWS calls",
             account.account_id, counts.users_seen, counts.keys_seen, counts.rows_written,
             run.aws_calls, extra=_log_fields(run))
    return SyncOutcome(run)




@dataclass(frozen=True)
class IdentityCenterRead:
    """How a round's Identity Center read went: ``people`` read, or ``error`` saying why not."""

    people: int = 0
    error: str = ""


def identity_center_round(*, now=None) -> IdentityCenterRead | None:
    """Read Identity Center for every key owner, once per sync round (``sync_accounts``, the
    periodic sync), when ``KEYLEDGER_IDENTITY_CENTER_ROLE_ARN`` is set; None when it is not.

    A failure is logged and returned, never raised: Identity Center is one shared read that
    only feeds the way-out evidence, so it must not fail the round's account syncs; the
    people stored by the last good read stay as they were.
    """
    if not settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN:
        return None
    try:
        people = identity_center_refresh(now=now)
    except CollectionError as exc:
        log.warning("Identity Center read failed (%s): %s", exc.kind, exc.message,
                    extra={"event": "identity_center_read", "failure_kind": exc.kind})
        return IdentityCenterRead(error=f"{exc.kind}: {exc.message}")
    except Exception as exc:
        log.exception("Identity Center read failed: unexpected error",
                      extra={"event": "identity_center_read", "failure_kind": "error"})
        return IdentityCenterRead(error=f"internal error: {type(exc).__name__}")
    log.info("Identity Center read: %d key owners", people,
             extra={"event": "identity_center_read", "people": people})
    return IdentityCenterRead(people=people)
