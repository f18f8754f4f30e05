"""Celery tasks: thin, idempotent wrappers around the sync service."""

import logging
import math
import threading
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.utils import timezone

from core.audit import audit_chain_verify

from .audit_sink import audit_events_forward
from .evaluation import evaluate_keys
from .models import AwsAccount, SyncRun
from .services.exceptions import exceptions_expire
from .sync import (
    SyncAlreadyRunning,
    expire_abandoned_runs,
    identity_center_round,
    sync_account,
)
from .trends import snapshot_take

log = logging.getLogger("keyledger.tasks")


@shared_task(ignore_result=True)
def sync_all_accounts(trigger: str = SyncRun.Trigger.SCHEDULE, full_listing: bool = False) -> int:
    """Fan out one ``sync_account`` per enabled account onto the ``sync`` queue, and the
    round's one Identity Center read (``refresh_identity_center``) when it is configured."""
    ids = list(AwsAccount.objects.filter(enabled=True).values_list("pk", flat=True))
    for pk in ids:
        sync_account_task.apply_async(args=(pk, trigger, full_listing))
    if settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN:
        refresh_identity_center.apply_async()
    return len(ids)


@shared_task(ignore_result=True)
def refresh_identity_center() -> int | None:
    """Once per periodic sync round: what Identity Center says about every key owner. A
    task of its own so the fan-out stays quick and a failure (logged) touches no account's
    sync; returns how many people were read, None when not configured or failed."""
    read = identity_center_round()
    return read.people if read is not None and not read.error else None


class RetryLater(Exception):
    """Raised inside ``sync_account_task`` to have the sync tried again: after ``retry_in``
    seconds when that is known, else after the task's exponential back-off."""

    def __init__(self, message: str, *, retry_in: int | None = None):
        super().__init__(message)
        self.retry_in = retry_in


class SyncTask(Task):
    """A task whose retries wait as long as the exception says, when it says (``retry_in``);
    otherwise as long as the declared back-off computes. Every retry of a sync comes through
    here, from the decorator's ``autoretry_for``: there is no other retry path."""

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None,
              max_retries=None, **options):
        retry_in = getattr(exc, "retry_in", None)
        return super().retry(args=args, kwargs=kwargs, exc=exc, throw=throw, eta=eta,
                             countdown=countdown if retry_in is None else retry_in,
                             max_retries=max_retries, **options)


@shared_task(
    name="governance.tasks.sync_account", base=SyncTask, bind=True, ignore_result=True,
    acks_late=True, autoretry_for=(OperationalError, RetryLater), retry_backoff=30,
    retry_backoff_max=settings.KEYLEDGER_SYNC_RETRY_MAX_SECONDS,
    retry_jitter=True, max_retries=settings.KEYLEDGER_SYNC_TASK_RETRIES,
)
def sync_account_task(self, account_pk: int, trigger: str = SyncRun.Trigger.SCHEDULE,
                      full_listing: bool = False):
    """Sync one account; throttling, time-outs and a lost database are retried with an
    exponential back-off, up to KEYLEDGER_SYNC_TASK_RETRIES times (then the task fails; the
    run has recorded why).

    ``full_listing`` lists every key holder's keys now instead of when it is next due.
    A message redelivered because its worker died finds that worker's run still holding the
    account; it is retried once the run's heartbeat is older than the sync lock.
    """
    account = AwsAccount.objects.filter(pk=account_pk, enabled=True).first()
    if account is None:
        return None
    try:
        outcome = sync_account(account=account, trigger=trigger, full_listing=full_listing)
    except SyncAlreadyRunning as busy:
        if not (self.request.delivery_info or {}).get("redelivered", False):
            log.info("%s", busy)
            return None
        log.info("%s; redelivered, so retried once that run is abandoned", busy)
        raise RetryLater(str(busy), retry_in=_seconds_until_abandoned(busy.run)) from None
    if outcome.retryable:
        raise RetryLater(f"sync {account.account_id} failed ({outcome.run.failure_kind}): "
                         f"{outcome.run.error}")
    return outcome.run.pk


def sync_account_soon(account_pk: int, trigger: str = SyncRun.Trigger.MANUAL) -> None:
    """Start a sync of one account without waiting for it.

    With a broker, a worker runs it. Without one (the demo: tasks run in-process), it runs
    on a thread of this process, so the request that asked for it returns at once and the
    page follows the ``SyncRun`` row as the sync writes it (``KEYLEDGER_SYNC_IN_THREAD``).
    """
    if not settings.KEYLEDGER_SYNC_IN_THREAD:
        sync_account_task.apply_async(args=(account_pk, trigger))
        return
    threading.Thread(target=_sync_on_this_thread, args=(account_pk, trigger), daemon=True,
                     name=f"sync-account-{account_pk}").start()


def _sync_on_this_thread(account_pk: int, trigger: str) -> None:
    try:
        sync_account_task.apply(args=(account_pk, trigger))
    except Exception:  # a thread has no caller to tell: the run row says failed, log why
        log.exception("background sync of account %s failed", account_pk)
    finally:
        connections.close_all()  # this thread's own database connection


def _seconds_until_abandoned(run: SyncRun) -> int:
    """Seconds until ``expire_abandoned_runs`` would release the account ``run`` holds.

    Never more than the sync lock, which the broker's visibility timeout outlasts: a retry
    waiting in a worker is not handed to a second one meanwhile.
    """
    lock = settings.KEYLEDGER_SYNC_LOCK_SECONDS
    stale_at = run.heartbeat_at + timedelta(seconds=lock)
    return max(1, min(lock, math.ceil((stale_at - timezone.now()).total_seconds()) + 1))


@shared_task(ignore_result=True)
def expire_abandoned_sync_runs() -> int:
    return expire_abandoned_runs()


@shared_task(ignore_result=True)
def evaluate_all_keys() -> int:
    """Daily: ages cross thresholds with no sync needed; then record the day's snapshot."""
    with transaction.atomic():
        result = evaluate_keys()
        snapshot_take()
    return result.keys


@shared_task(ignore_result=True)
def expire_exceptions() -> int:
    return exceptions_expire()


@shared_task(ignore_result=True)
def verify_audit_chain() -> bool:
    """Hourly: walk the audit log's hash chain; the audit log page shows the outcome."""
    return audit_chain_verify().ok


@shared_task(ignore_result=True)
def forward_audit_events() -> int:
    """After each decision and every 5 minutes: ship the audit events the write-once sink
    does not have yet. A failure is recorded and logged, and the next run sends them again."""
    return audit_events_forward().shipped
