"""The scheduled sync on a real Celery worker, Redis as broker, moto's server as AWS."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from governance.models import AccessKey, SyncRun
from governance.tasks import sync_all_accounts
from tests.conftest import account_clients

ACCOUNTS = ("111111111111", "222222222222", "333333333333")


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A worker thread consuming the sync and default queues on the test Redis."""
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:  # leftovers of an earlier run must not interfere
        for queue in ("sync", "celery"):
            conn.default_channel.queue_declare(queue, durable=True, auto_delete=False)
            conn.default_channel.queue_purge(queue)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=["sync", "celery"],
                          shutdown_timeout=30):
            yield
    finally:
        app.conf.task_always_eager = True


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.celery_worker
def test_sync_all_accounts_fans_out_to_a_real_worker(moto_server, register_account,
                                                     celery_worker):
    for index, account_id in enumerate(ACCOUNTS):
        iam = account_clients(account_id).client("iam")
        for n in range(index + 1):
            iam.create_user(UserName=f"svc-{n}")
            iam.create_access_key(UserName=f"svc-{n}")
        register_account(account_id)

    queued = sync_all_accounts.delay()

    assert queued.id
    finished = wait_for(lambda: SyncRun.objects.filter(
        status=SyncRun.Status.SUCCEEDED).count() == len(ACCOUNTS))
    runs = {r.account.account_id: r for r in SyncRun.objects.select_related("account")}
    assert finished, {a: (r.status, r.error) for a, r in runs.items()}
    assert set(runs) == set(ACCOUNTS)
    assert {a: AccessKey.objects.filter(account__account_id=a).count() for a in ACCOUNTS} == {
        "111111111111": 1, "222222222222": 2, "333333333333": 3}
    assert all(r.trigger == SyncRun.Trigger.SCHEDULE for r in runs.values())
