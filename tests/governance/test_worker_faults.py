"""A real Celery worker process killed in the middle of a sync.

The worker is a subprocess (``celery -A config worker``) on the test database, the test
Redis and moto's threaded server; it is SIGKILLed while the sync waits for the credential
report. Nothing of the account may be stored, the run must hold the account until its
heartbeat goes stale, then expire as abandoned, and the next sync must complete.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
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


def unacked_deliveries(broker: redis.Redis, task_id: str) -> list[bytes]:
    """Delivery tags of ``task_id`` that the broker holds as delivered but not acknowledged."""
    return [tag for tag, payload in broker.hgetall("unacked").items()
            if task_id.encode() in payload]


@pytest.mark.celery_worker
def test_worker_killed_mid_sync_stores_nothing_and_the_run_expires(
        moto_server, register_account, transactional_db, settings):
    iam = account_clients(ACCOUNT).client("iam")
    key_ids = set()
    for name in ("svc-a", "svc-b"):
        iam.create_user(UserName=name)
        key_ids.add(iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"])
    account = register_account(ACCOUNT)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    purge_queues()
    log = Path(tempfile.mkstemp(prefix="keyledger-worker-", suffix=".log")[1])
    was_eager = app.conf.task_always_eager
    task_id = None
    with log.open("w") as out:
        worker = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [str(CELERY), "-A", "config", "worker", "-Q", "sync,celery", "--pool", "solo",
             "--concurrency", "1", "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"kill-test-{os.getpid()}@%h"],
            cwd=ROOT, env=worker_environment(moto_server.url, settings.CELERY_BROKER_URL),
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        app.conf.task_always_eager = False
        try:
            task_id = sync_account_task.apply_async(args=[account.pk]).id
        finally:
            app.conf.task_always_eager = was_eager

        run = wait_for(lambda: SyncRun.objects.filter(
            account=account, status=SyncRun.Status.RUNNING, phase=WAITING_PHASE).first(),
            timeout=40, worker=worker, log=log)
        time.sleep(0.5)  # into the 30 s wait between GenerateCredentialReport polls
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
        app.conf.task_always_eager = was_eager
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        if task_id is not None:  # a later worker must not redeliver this test's message
            for tag in unacked_deliveries(broker, task_id):
                broker.hdel("unacked", tag)
                broker.zrem("unacked_index", tag)
        purge_queues()
        broker.close()
        log.unlink(missing_ok=True)
