"""A real Celery worker process killed in the middle of a sync.

The worker is a subprocess (``celery -A config worker``) on the test database, the test
Redis and moto's threaded server; it is SIGKILLed while the sync waits for the credential
report. Nothing of the account may be stored, the run must hold the account until its
heartbeat goes stale, then expire as abandoned, and the next sync must complete.

Tasks are acknowledged late, so the killed worker's message stays in Redis's ``unacked`` hash
until the broker's visibility timeout (``KEYLEDGER_BROKER_VISIBILITY_SECONDS``) has passed;
then a worker puts it back on its queue. The setting is never shorter than the sync lock
(900 s by default), so rather than wait a quarter of an hour the redelivery test moves the
clock: the dead run's heartbeat and the message's delivery time (its score in kombu's
``unacked_index``) go back by the same amount, as if that long had passed with the worker
dead. A second worker started then redelivers it at once (kombu looks when a worker
starts, then about every 100 s).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.utils import timezone

from config.celery import app
from governance.models import AccessKey, IamUser, SyncRun
from governance.sync import SyncAlreadyRunning, expire_abandoned_runs, sync_account
from governance.tasks import sync_account_task
from tests.conftest import account_clients

ACCOUNT = "444444444444"
ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
WAITING_PHASE = "reading the credential report"


def wait_for(predicate, timeout: float, worker: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}):\n{log.read_text()[-4000:]}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s; worker log:\n{log.read_text()[-4000:]}")


def worker_environment(moto_url: str, broker_url: str) -> dict[str, str]:
    """What a deployed worker would read, pointed at this test's database, Redis and moto."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    env = {name: value for name, value in os.environ.items()
           if name not in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "SECRET_KEY": "tests-only-not-a-secret",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "KEYLEDGER_REPORT_POLL_FIRST_SECONDS": "30",  # the sync sits in the report wait
        "PYTHONUNBUFFERED": "1",
    })
    return env


def purge_queues() -> None:
    with app.connection_for_write() as conn:
        for queue in ("sync", "celery"):
            conn.default_channel.queue_declare(queue, durable=True, auto_delete=False)
            conn.default_channel.queue_purge(queue)


def purge_broker(broker: redis.Redis) -> None:
    """Empty the queues and forget unacknowledged messages an earlier run left behind, which
    a worker started here would otherwise put back on a queue and run."""
    purge_queues()
    broker.delete("unacked", "unacked_index", "unacked_mutex")


def unacked_deliveries(broker: redis.Redis, task_id: str) -> list[bytes]:
    """Delivery tags of ``task_id`` that the broker holds as delivered but not acknowledged."""
    return [tag for tag, payload in broker.hgetall("unacked").items()
            if task_id.encode() in payload]


def start_worker(name: str, env: dict[str, str], log: Path, *, pool: str = "solo"):
    """``celery worker`` as a separate process, as deployed, on the sync and default queues."""
    with log.open("a") as out:
        return subprocess.Popen(  # noqa: S603 (fixed arguments)
            [str(CELERY), "-A", "config", "worker", "-Q", "sync,celery", "--pool", pool,
             "--concurrency", "1", "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"{name}-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.wait(10)


def forget_task(broker: redis.Redis, task_id: str | None) -> None:
    """A later worker must not redeliver this test's message."""
    if task_id is not None:
        for tag in unacked_deliveries(broker, task_id):
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)
    purge_queues()


def queue_sync(account) -> str:
    """Queue the account's sync on the broker, as beat does; the task's id."""
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        return sync_account_task.apply_async(args=[account.pk]).id
    finally:
        app.conf.task_always_eager = was_eager


def account_with_two_keys(register_account):
    iam = account_clients(ACCOUNT).client("iam")
    key_ids = set()
    for name in ("svc-a", "svc-b"):
        iam.create_user(UserName=name)
        key_ids.add(iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"])
    return register_account(ACCOUNT), key_ids


def child_processes(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (the pool's children of a prefork worker)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def running_run(account, worker: subprocess.Popen, log: Path) -> SyncRun:
    """The account's run once the worker sits in the credential-report wait."""
    run = wait_for(lambda: SyncRun.objects.filter(
        account=account, status=SyncRun.Status.RUNNING, phase=WAITING_PHASE).first(),
        timeout=40, worker=worker, log=log)
    time.sleep(0.5)  # into the 30 s wait between GenerateCredentialReport polls
    return run


@pytest.mark.celery_worker
def test_worker_killed_mid_sync_stores_nothing_and_the_run_expires(
        moto_server, register_account, transactional_db, settings):
    account, key_ids = account_with_two_keys(register_account)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    purge_broker(broker)
    log = Path(tempfile.mkstemp(prefix="keyledger-worker-", suffix=".log")[1])
    task_id = None
    worker = start_worker("kill-test", worker_environment(
        moto_server.url, settings.CELERY_BROKER_URL), log)
    try:
        task_id = queue_sync(account)
        run = running_run(account, worker, log)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL

        # Killed mid-collection: no partial state, and the run still claims the account.
        assert not IamUser.objects.filter(account=account).exists()
        assert not AccessKey.objects.filter(account=account).exists()
        run.refresh_from_db()
        assert (run.status, run.phase, run.finished_at) == ("running", WAITING_PHASE, None)
        assert run.aws_calls == 0  # counts are written only when a run ends
        # acks_late: the broker still holds the message, to be redelivered after the
        # visibility timeout rather than lost with the worker.
        assert unacked_deliveries(broker, task_id)
        with pytest.raises(SyncAlreadyRunning) as busy:
            sync_account(account=account)
        assert busy.value.run.pk == run.pk
        assert SyncRun.objects.filter(account=account).count() == 1

        # No more heartbeats: once it is older than the lock, the run is expired.
        stale = timezone.now() - timedelta(seconds=settings.KEYLEDGER_SYNC_LOCK_SECONDS + 1)
        SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
        assert expire_abandoned_runs() == 1
        run.refresh_from_db()
        assert (run.status, run.failure_kind) == ("failed", SyncRun.FailureKind.ABANDONED)
        assert "stopped without finishing" in run.error and run.finished_at is not None

        recovered = sync_account(account=account).run

        assert recovered.status == SyncRun.Status.SUCCEEDED, recovered.error
        assert recovered.pk != run.pk and recovered.keys_created == 2
        assert set(AccessKey.objects.filter(account=account)
                   .values_list("access_key_id", flat=True)) == key_ids
    finally:
        stop_worker(worker)
        forget_task(broker, task_id)
        broker.close()
        log.unlink(missing_ok=True)


# Long enough for the default visibility timeout (sync lock 900 s + 60 s) and the lock to
# pass; well short of kombu's default of an hour, which left the message where it was.
DEAD_FOR = timedelta(minutes=20)


@pytest.mark.celery_worker
def test_worker_killed_mid_sync_is_redelivered_to_another_worker_within_minutes(
        moto_server, register_account, transactional_db, settings):
    account, key_ids = account_with_two_keys(register_account)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    purge_broker(broker)
    log = Path(tempfile.mkstemp(prefix="keyledger-worker-", suffix=".log")[1])
    env = worker_environment(moto_server.url, settings.CELERY_BROKER_URL)
    task_id, second = None, None
    first = start_worker("killed", env, log)
    try:
        task_id = queue_sync(account)
        abandoned = running_run(account, first, log)
        first.send_signal(signal.SIGKILL)  # the whole worker: nothing is left to reject
        assert first.wait(10) == -signal.SIGKILL
        [tag] = unacked_deliveries(broker, task_id)

        # Twenty minutes pass with the worker dead: its run's last heartbeat and the time the
        # broker handed it the message both move back.
        SyncRun.objects.filter(pk=abandoned.pk).update(
            started_at=abandoned.started_at - DEAD_FOR,
            heartbeat_at=abandoned.heartbeat_at - DEAD_FOR)
        broker.zadd("unacked_index", {tag: broker.zscore("unacked_index", tag)
                                      - DEAD_FOR.total_seconds()})
        second = start_worker("survivor", {**env, "KEYLEDGER_REPORT_POLL_FIRST_SECONDS": "0.2"},
                              log)
        recovered = wait_for(lambda: SyncRun.objects.filter(
            account=account, status=SyncRun.Status.SUCCEEDED).first(),
            timeout=30, worker=second, log=log)

        abandoned.refresh_from_db()
        assert (abandoned.status, abandoned.failure_kind) == ("failed", "abandoned")
        assert "stopped without finishing" in abandoned.error
        assert recovered.pk > abandoned.pk and recovered.trigger == SyncRun.Trigger.SCHEDULE
        assert recovered.keys_created == 2, recovered.error
        assert set(AccessKey.objects.filter(account=account)
                   .values_list("access_key_id", flat=True)) == key_ids
        assert SyncRun.objects.filter(account=account).count() == 2
        assert wait_for(lambda: not unacked_deliveries(broker, task_id), timeout=10,
                        worker=second, log=log)  # done: acknowledged by the second worker
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
        forget_task(broker, task_id)
        broker.close()
        log.unlink(missing_ok=True)


@pytest.mark.celery_worker
def test_pool_process_killed_mid_sync_is_requeued_at_once_and_retried_when_its_run_expires(
        moto_server, register_account, transactional_db, settings):
    """task_reject_on_worker_lost: the worker's main process sees its pool process die and
    puts the message back at once; the redelivered sync finds the dead process's run still
    holding the account, and is retried once that run's heartbeat is older than the lock."""
    account, _key_ids = account_with_two_keys(register_account)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    purge_broker(broker)
    log = Path(tempfile.mkstemp(prefix="keyledger-worker-", suffix=".log")[1])
    task_id = None
    worker = start_worker("prefork", worker_environment(
        moto_server.url, settings.CELERY_BROKER_URL), log, pool="prefork")
    try:
        task_id = queue_sync(account)
        run = running_run(account, worker, log)
        [child] = child_processes(worker.pid)
        os.kill(child, signal.SIGKILL)

        def retry_waiting():
            """The task's message as the worker holds it: a retry with an ETA."""
            for tag in unacked_deliveries(broker, task_id):
                message = json.loads(broker.hget("unacked", tag))[0]
                if message["headers"].get("retries") == 1:
                    return message["headers"]
            return None

        retry = wait_for(retry_waiting, timeout=15, worker=worker, log=log)

        run.refresh_from_db()
        assert (run.status, run.phase) == ("running", WAITING_PHASE)
        assert SyncRun.objects.filter(account=account).count() == 1
        assert not AccessKey.objects.filter(account=account).exists()
        expires = run.heartbeat_at + timedelta(seconds=settings.KEYLEDGER_SYNC_LOCK_SECONDS)
        eta = datetime.fromisoformat(retry["eta"])
        assert timedelta(0) < eta - expires <= timedelta(seconds=3), (eta, expires)
        assert worker.poll() is None  # the worker itself lives on
    finally:
        pool = child_processes(worker.pid)
        stop_worker(worker)
        for child in pool:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        forget_task(broker, task_id)
        broker.close()
        log.unlink(missing_ok=True)
