"""Celery tasks: the trail read fanned out over the workers, thin wrappers around
``evidence.reading``.

``read_trail`` (periodic) lists the accounts once and queues one ``read_trail_account`` per
account; each lists its new files and queues one ``read_trail_batch`` per batch of
``KEYLEDGER_TRAIL_BATCH_OBJECTS`` files, so adding workers adds throughput. Tasks take
object keys, never file contents; a batch delivered twice, or redelivered after a worker
died, counts once (``evidence.usage``).
"""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from governance.aws.errors import CollectionError
from governance.aws.trail import log_object, trail_session

from .reading import plan_account, read_batch, trail_accounts
from .usage import usage_prune

log = logging.getLogger("keyledger.evidence")


@shared_task(ignore_result=True)
def read_trail(days: int | None = None) -> int:
    """Queue a read of every account the trail holds logs for; the number queued."""
    if not settings.KEYLEDGER_TRAIL_BUCKET:
        return 0
    try:
        accounts = trail_accounts(trail_session())
    except CollectionError as error:
        log.warning("trail listing failed: %s", error.message)
        return 0
    for account_id, prefixes in accounts.items():
        read_trail_account.delay(account_id, prefixes, days)
    return len(accounts)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=3)
def read_trail_account(self, account_id: str, prefixes: list[str],
                       days: int | None = None) -> int:
    """List one account's new files and queue them in batches; the number of batches."""
    try:
        plan = plan_account(trail_session(), account_id=account_id, prefixes=prefixes,
                            today=timezone.now().date(), days=days)
    except CollectionError as error:
        if error.retryable and self.request.retries < self.max_retries:
            raise self.retry(countdown=60 * 2 ** self.request.retries) from None
        log.warning("trail listing of %s failed: %s", account_id, error.message)
        return 0
    for batch in plan.batches:
        read_trail_batch.delay([item.key for item in batch])
    return len(plan.batches)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=3)
def read_trail_batch(self, keys: list[str]) -> int:
    """Read, reduce and store one batch of files, then re-evaluate the keys whose evidence
    grew (``UNEXPECTED_SOURCE`` opens with the read); the number of events kept.

    Keys that do not follow CloudTrail's layout are ignored. Files S3 would not give are
    retried with the task when that can help, and otherwise by the next periodic read
    (their day's watermark has not moved past them).
    """
    batch = [item for item in (log_object(key) for key in keys) if item is not None]
    outcome = read_batch(trail_session(), batch)
    if outcome.failed:
        key, why = next(iter(outcome.failed.items()))
        log.warning("trail batch: %d of %d files unread, first %s: %s",
                    len(outcome.failed), len(batch), key, why)
        if self.request.retries < self.max_retries:
            raise self.retry(args=(list(outcome.failed),),
                             countdown=60 * 2 ** self.request.retries)
    return outcome.stored.events


@shared_task(ignore_result=True)
def prune_usage_evidence() -> int:
    """Daily: delete evidence older than ``KEYLEDGER_EVIDENCE_RETENTION_DAYS``."""
    return usage_prune(today=timezone.now().date())
