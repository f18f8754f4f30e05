"""A sync run's states change only through its guarded methods, and the task's one retry path.

``start`` claims the account; ``beat`` reports progress; ``succeed``, ``fail`` and ``abandon``
end the run once. A run expired as abandoned by someone else is never overwritten.
"""

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import celery
import pytest
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from governance.models import SyncAbandoned, SyncRun, SyncRunFinished
from governance.sync import expire_abandoned_runs
from governance.tasks import RetryLater, sync_account_task
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

COUNTS = SimpleNamespace(users_seen=3, users_created=1, users_updated=1, users_removed=0,
                         keys_seen=4, keys_created=2, keys_updated=1, keys_removed=1,
                         rows_written=6)
CALLS = Counter({"iam:ListAccessKeys": 2, "sts:AssumeRole": 1})


@pytest.fixture
def run():
    return SyncRun.start(account=AccountFactory(), trigger=SyncRun.Trigger.MANUAL)


def stored(run: SyncRun) -> SyncRun:
    return SyncRun.objects.get(pk=run.pk)


def expire_meanwhile(run: SyncRun) -> None:
    """Another worker's expiry, as the periodic task would do it, behind ``run``'s back."""
    stale = timezone.now() - timedelta(days=1)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    assert expire_abandoned_runs() == 1


def test_a_run_starts_running_and_holds_its_account(run):
    assert (stored(run).status, stored(run).phase) == ("running", "starting")
    with pytest.raises(IntegrityError):
        SyncRun.start(account=run.account, trigger=SyncRun.Trigger.SCHEDULE)


def test_succeed_records_what_was_stored_and_its_cost(run):
    run.succeed(counts=COUNTS, calls=CALLS)

    row = stored(run)
    assert (row.status, row.phase, row.failure_kind) == ("succeeded", "", "")
    assert row.finished_at is not None and row.finished_at == run.finished_at
    assert (row.keys_created, row.keys_removed, row.rows_written) == (2, 1, 6)
    assert (row.aws_calls, row.aws_calls_by_action) == (3, dict(CALLS))


def test_fail_records_the_kind_and_a_bounded_message(run):
    run.beat("listing keys")
    run.fail(kind=SyncRun.FailureKind.THROTTLED, message="x" * 5000, calls=CALLS)

    row = stored(run)
    assert (row.status, row.failure_kind, row.phase) == ("failed", "throttled", "")
    assert row.error == "x" * 4000 and row.aws_calls == 3


@pytest.mark.parametrize("first", ["succeed", "fail", "abandon"])
@pytest.mark.parametrize("then", ["succeed", "fail", "abandon", "beat"])
def test_an_ended_run_refuses_any_further_change(run, first, then):
    end = {"succeed": lambda: run.succeed(counts=COUNTS, calls=CALLS),
           "fail": lambda: run.fail(kind="error", message="boom", calls=CALLS),
           "abandon": lambda: run.abandon(),
           "beat": lambda: run.beat("storing")}
    end[first]()
    before = stored(run)

    with pytest.raises(SyncRunFinished):
        end[then]()

    after = stored(run)
    assert (after.status, after.failure_kind, after.error, after.finished_at, after.phase) == (
        before.status, before.failure_kind, before.error, before.finished_at, before.phase)


@pytest.mark.parametrize("ending", ["succeed", "fail"])
def test_a_run_expired_meanwhile_cannot_end_otherwise(run, ending):
    expire_meanwhile(run)

    with pytest.raises(SyncAbandoned) as abandoned:
        if ending == "succeed":
            run.succeed(counts=COUNTS, calls=CALLS)
        else:
            run.fail(kind="throttled", message="later", calls=CALLS)

    assert abandoned.value.run is run
    assert (run.status, run.failure_kind) == ("failed", "abandoned")  # reloaded
    row = stored(run)
    assert (row.status, row.failure_kind, row.error) == (
        "failed", "abandoned", SyncRun.ABANDONED_ERROR)
    assert row.keys_created == 0 and row.aws_calls == 0


def test_a_heartbeat_does_not_revive_a_run_expired_meanwhile(run):
    expire_meanwhile(run)

    run.beat("storing")  # the run carries on; its ending will say it was abandoned

    row = stored(run)
    assert (row.status, row.phase) == ("failed", "")


def test_only_stale_running_runs_are_abandoned_and_their_account_is_free_again(run):
    now = timezone.now()
    fresh = SyncRun.start(account=AccountFactory(), trigger=SyncRun.Trigger.SCHEDULE)
    done = SyncRun.start(account=AccountFactory(), trigger=SyncRun.Trigger.SCHEDULE)
    done.succeed(counts=COUNTS, calls=CALLS)
    SyncRun.objects.filter(pk__in=[run.pk, done.pk]).update(
        heartbeat_at=now - timedelta(days=1))

    assert list(SyncRun.objects.stale(now=now)) == [run]
    assert SyncRun.objects.stale(now=now).abandon(now=now) == 1

    assert (stored(run).status, stored(run).failure_kind) == ("failed", "abandoned")
    assert stored(fresh).status == "running" and stored(done).status == "succeeded"
    assert SyncRun.start(account=run.account, trigger=SyncRun.Trigger.MANUAL).status == "running"


# -- the task's one retry path ---------------------------------------------------------------

def test_a_retry_waits_as_long_as_the_exception_says_else_the_back_off(monkeypatch):
    countdowns = []
    monkeypatch.setattr(celery.Task, "retry",
                        lambda self, **kwargs: countdowns.append(kwargs["countdown"]))

    for exc in (RetryLater("held by a dead worker", retry_in=42), RetryLater("throttled"),
                OperationalError("gone")):
        sync_account_task.retry(exc=exc, countdown=7)

    assert countdowns == [42, 7, 7]


def test_every_sync_retry_is_declared_on_the_task():
    assert set(sync_account_task.autoretry_for) == {OperationalError, RetryLater}
    assert sync_account_task.retry_backoff == 30 and sync_account_task.retry_jitter is True


def test_a_retryable_failure_is_retried_and_the_retry_syncs(monkeypatch):
    import governance.tasks

    account = AccountFactory()
    attempts = []

    def sync_account(**kwargs):
        run = SyncRun.start(account=kwargs["account"], trigger=kwargs["trigger"])
        if not attempts:
            run.fail(kind="throttled", message="Throttling on iam:ListAccessKeys", calls=CALLS)
        else:
            run.succeed(counts=COUNTS, calls=CALLS)
        attempts.append(run)
        return SimpleNamespace(run=run, retryable=run.status == "failed")

    monkeypatch.setattr(governance.tasks, "sync_account", sync_account)

    # throw=False: an eager apply() runs the retry at once instead of raising Retry
    result = sync_account_task.apply(args=[account.pk], throw=False)

    assert result.successful(), result.traceback
    assert [r.status for r in attempts] == ["failed", "succeeded"]
    assert result.get() == attempts[1].pk
