"""Faults during a sync, per account: the failed account keeps its stored data, says why,
the other accounts of the round are unaffected, and the next run recovers.

AWS is in-process moto; faults are botocore event handlers installed per account through
``client_hooks``, so they act on the real request path (signing, retries, parsing).
"""

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.retries import standard
from dateutil.tz import tzlocal
from django.db import OperationalError, connection, connections

import governance.sync
from governance.aws.session import client_hooks
from governance.models import AccessKey, AccessKeyEvent, AwsAccount, Finding, IamUser, SyncRun
from governance.sync import SyncAlreadyRunning, sync_account
from governance.tasks import sync_account_task
from tests.conftest import account_clients
from tests.governance.aws.helpers import Body

A, B, C = "111111111111", "222222222222", "333333333333"
FAULTY = B  # in the middle of the round: accounts before and after it must still sync

THROTTLING = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
              b"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>")
EXPIRED = (b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
           b"<Message>The security token included in the request is expired</Message>"
           b"</Error><RequestId>1</RequestId></ErrorResponse>")


# -- AWS and stored state -------------------------------------------------------------------

def seed(account_id: str, users: int) -> dict[str, str]:
    """``users`` IAM users with one key each, one user without keys; {user: key id}."""
    iam = account_clients(account_id).client("iam")
    keys = {}
    for n in range(users):
        iam.create_user(UserName=f"svc-{n}", Tags=[{"Key": "owner", "Value": "x@example.com"}])
        keys[f"svc-{n}"] = iam.create_access_key(UserName=f"svc-{n}")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="person")
    return keys


def change(account_id: str, keys: dict[str, str]) -> str:
    """What the next sync must pick up: svc-0's key deleted, a new user with a key."""
    iam = account_clients(account_id).client("iam")
    iam.delete_access_key(UserName="svc-0", AccessKeyId=keys["svc-0"])
    iam.create_user(UserName="late")
    return iam.create_access_key(UserName="late")["AccessKey"]["AccessKeyId"]


def stored(account_id: str) -> dict[str, list]:
    """Every stored row that a sync of ``account_id`` may write, field by field."""
    return {
        "account": list(AwsAccount.objects.filter(account_id=account_id).values()),
        "users": list(IamUser.objects.filter(account__account_id=account_id)
                      .order_by("pk").values()),
        "keys": list(AccessKey.objects.filter(account__account_id=account_id)
                     .order_by("pk").values()),
        "findings": list(Finding.objects.filter(key__account__account_id=account_id)
                         .order_by("pk").values()),
        "events": list(AccessKeyEvent.objects.filter(key__account__account_id=account_id)
                       .order_by("pk").values()),
    }


def assert_change_applied(account_id: str, keys: dict[str, str], late_key: str) -> None:
    gone = AccessKey.objects.get(access_key_id=keys["svc-0"])
    assert gone.removed_at is not None
    assert gone.events.filter(kind=AccessKeyEvent.Kind.REMOVED).count() == 1
    late = AccessKey.objects.get(access_key_id=late_key)
    assert late.account.account_id == account_id and late.user.name == "late"
    assert late.removed_at is None
    live = AccessKey.objects.filter(account__account_id=account_id, removed_at__isnull=True)
    assert set(live.values_list("access_key_id", flat=True)) == (
        set(keys.values()) - {keys["svc-0"]}) | {late_key}


@pytest.fixture
def no_backoff(monkeypatch):
    """Keep botocore's retry decisions, drop its sleeps (a throttled test stays fast)."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


# -- faults -----------------------------------------------------------------------------------

@dataclass
class Fault:
    """A client hook acting on FAULTY's IAM client only; ``fired`` records each injection."""

    install: Callable[[object, list], None]  # (iam client, fired)
    kind: str
    message: str  # a substring of SyncRun.error
    retryable: bool
    attempts: int | None = None  # requests botocore made before giving up, if it retries
    fired: list = field(default_factory=list)

    def hook(self, account_id: str, client) -> None:
        if account_id == FAULTY and client.meta.service_model.service_name == "iam":
            self.install(client, self.fired)


def _deny_list_access_keys(client, fired):
    def deny(**_):
        fired.append("ListAccessKeys")
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                          "ListAccessKeys")
    client.meta.events.register("before-call.iam.ListAccessKeys", deny)


def _throttle_list_access_keys(client, fired):
    def before_send(request, **_):
        fired.append(request.url)
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, Body(THROTTLING))
    client.meta.events.register_first("before-send.iam.ListAccessKeys", before_send)


def _read_timeout_on_summary(client, fired):
    def before_send(request, **_):
        fired.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)
    client.meta.events.register_first("before-send.iam.GetAccountSummary", before_send)


def _connect_timeout_on_details(client, fired):
    def before_send(request, **_):
        fired.append(request.url)
        raise ConnectTimeoutError(endpoint_url=request.url)
    client.meta.events.register_first("before-send.iam.GetAccountAuthorizationDetails",
                                      before_send)


def _token_expires_after_two_calls(client, fired):
    """The session was fine for the first IAM calls, then AWS says its token expired."""
    seen = []

    def before_call(model, **_):
        seen.append(model.name)
        if len(seen) > 2:
            fired.append(model.name)
            raise ClientError({"Error": {"Code": "ExpiredToken",
                                         "Message": "The security token is expired"}},
                              model.name)
    client.meta.events.register("before-call.iam", before_call)


def _report_never_ready(client, fired):
    # A before-call handler that returns (http_response, parsed) short-circuits the call
    # (botocore client._make_api_call: ``http, parsed_response = event_response``).
    def before_call(**_):
        fired.append("GenerateCredentialReport")
        http = AWSResponse("https://iam.amazonaws.com/", 200, {}, Body(b""))
        return http, {"State": "STARTED", "Description": "report in progress",
                      "ResponseMetadata": {"HTTPStatusCode": 200}}
    client.meta.events.register("before-call.iam.GenerateCredentialReport", before_call)


def _garbage_report(client, fired):
    """A well-formed GetCredentialReport answer whose Content is not a credential report."""
    content = base64.b64encode(b"<html><body>503 Service Unavailable</body></html>\n")
    body = (b'<GetCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            b"<GetCredentialReportResult><Content>" + content + b"</Content>"
            b"<ReportFormat>text/csv</ReportFormat>"
            b"<GeneratedTime>2025-01-01T00:00:00Z</GeneratedTime></GetCredentialReportResult>"
            b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
            b"</GetCredentialReportResponse>")

    def before_send(request, **_):
        fired.append(request.url)
        return AWSResponse(request.url, 200, {"Content-Type": "text/xml"}, Body(body))
    client.meta.events.register_first("before-send.iam.GetCredentialReport", before_send)


FAULTS = {
    "access-denied": lambda: Fault(_deny_list_access_keys, "access_denied",
                                   "AccessDenied on iam:ListAccessKeys", retryable=False),
    "throttled": lambda: Fault(_throttle_list_access_keys, "throttled",
                               "Throttling on iam:ListAccessKeys", retryable=True, attempts=3),
    "read-timeout": lambda: Fault(_read_timeout_on_summary, "timeout",
                                  "iam: no answer in time (Read timeout", retryable=True,
                                  attempts=3),
    "connect-timeout": lambda: Fault(_connect_timeout_on_details, "timeout",
                                     "iam: no answer in time (Connect timeout",
                                     retryable=True, attempts=3),
    "expired-token": lambda: Fault(_token_expires_after_two_calls, "credentials",
                                   "ExpiredToken on iam:", retryable=False),
    "report-never-ready": lambda: Fault(_report_never_ready, "timeout",
                                        "the credential report was not ready after",
                                        retryable=True),
    "malformed-report": lambda: Fault(_garbage_report, "bad_data",
                                      "malformed credential report: missing columns",
                                      retryable=False),
}


@pytest.mark.django_db
@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_fault_fails_only_that_account_keeps_its_data_and_next_run_recovers(
        fault_name, aws, register_account, no_backoff, settings):
    settings.KEYLEDGER_REPORT_POLL_MAX_SECONDS = 0.3  # "never ready" gives up quickly
    seeded = {A: seed(A, 2), B: seed(B, 3), C: seed(C, 1)}
    accounts = {a: register_account(a) for a in (A, B, C)}
    first = {a: sync_account(account=acct).run for a, acct in accounts.items()}
    assert {a: r.status for a, r in first.items()} == dict.fromkeys(first, "succeeded")
    assert Finding.objects.filter(key__account__account_id=FAULTY).exists()  # a real baseline
    late_keys = {a: change(a, seeded[a]) for a in (A, B, C)}
    before = stored(FAULTY)
    fault = FAULTS[fault_name]()

    with client_hooks(fault.hook):
        outcomes = {a: sync_account(account=acct) for a, acct in accounts.items()}

    assert fault.fired, "the fault was never injected"
    if fault.attempts is not None:
        assert len(fault.fired) == fault.attempts == settings.KEYLEDGER_AWS_MAX_ATTEMPTS
    failed = SyncRun.objects.get(pk=outcomes[FAULTY].run.pk)
    assert (failed.status, failed.failure_kind) == ("failed", fault.kind), failed.error
    assert fault.message in failed.error
    assert outcomes[FAULTY].retryable is fault.retryable
    assert failed.finished_at is not None and failed.phase == ""
    assert failed.aws_calls > 0 and failed.aws_calls_by_action["sts:AssumeRole"] == 1
    assert stored(FAULTY) == before  # not one row or field of the failed account changed
    for other in (A, C):
        run = SyncRun.objects.get(pk=outcomes[other].run.pk)
        assert run.status == "succeeded", (other, run.error)
        assert_change_applied(other, seeded[other], late_keys[other])

    recovered = sync_account(account=accounts[FAULTY]).run

    assert recovered.status == "succeeded", recovered.error
    assert (recovered.keys_created, recovered.keys_removed) == (1, 1)
    assert_change_applied(FAULTY, seeded[FAULTY], late_keys[FAULTY])
    assert list(SyncRun.objects.filter(account=accounts[FAULTY]).order_by("started_at")
                .values_list("status", flat=True)) == ["succeeded", "failed", "succeeded"]


# -- the assumed-role session outliving its credentials ------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("clock_knows", [True, False], ids=["refreshes", "aws-expires-early"])
def test_assumed_role_session_refreshes_instead_of_failing(clock_knows, aws, register_account):
    """Mid-sync, the role session's token stops being accepted (AWS answers ExpiredToken).

    When the session's own clock also says it has expired (the normal case: 15 minutes
    went by), botocore assumes the role again before signing and the sync never sees the
    error. The control case (AWS rejects a token the session still believes valid) proves
    the rejection is real: that run fails with ExpiredToken.
    """
    keys = seed(A, 2)
    account = register_account(A)
    rejected: set[str] = set()
    refused: list[str] = []

    def expire_session(account_id, client):
        if client.meta.service_model.service_name != "iam":
            return

        def before_call(**_):  # mid-sync: the report is read after several calls
            credentials = client._request_signer._credentials
            rejected.add(credentials._token)
            if clock_knows:
                credentials._expiry_time = datetime.now(tzlocal()) - timedelta(seconds=1)

        def before_send(request, **_):  # AWS: that session token is no longer valid
            token = request.headers.get("X-Amz-Security-Token")
            token = token.decode() if isinstance(token, bytes) else token
            if token in rejected:
                refused.append(request.url)
                return AWSResponse(request.url, 403, {"Content-Type": "text/xml"}, Body(EXPIRED))
            return None

        client.meta.events.register("before-call.iam.GetCredentialReport", before_call)
        client.meta.events.register_first("before-send.iam", before_send)

    with client_hooks(expire_session):
        run = sync_account(account=account).run

    assert rejected, "the session was never expired"
    if clock_knows:
        assert run.status == "succeeded", run.error
        assert run.aws_calls_by_action["sts:AssumeRole"] == 2
        assert refused == []
        assert set(AccessKey.objects.values_list("access_key_id", flat=True)) == set(keys.values())
    else:
        assert (run.status, run.failure_kind) == ("failed", "credentials")
        assert "ExpiredToken on iam:GetCredentialReport" in run.error
        assert run.aws_calls_by_action["sts:AssumeRole"] == 1
        assert len(refused) == 1  # ExpiredToken is not retried by botocore
        assert not AccessKey.objects.exists()


# -- two syncs of one account at once -------------------------------------------------------

@pytest.mark.parametrize("via", ["service", "task"])
def test_two_simultaneous_syncs_of_one_account_run_once(via, aws, register_account,
                                                        transactional_db):
    keys = seed(A, 2)
    pk = register_account(A).pk
    barrier = threading.Barrier(2)
    finished = threading.Event()  # set by each thread when its sync call returns
    waited: list[bool] = []
    results: dict[str, object] = {}

    def hold_collection(account_id, client):
        """The first IAM call waits until the other request has been answered."""
        if client.meta.service_model.service_name != "iam":
            return

        def before_call(**_):
            if not waited:
                waited.append(finished.wait(10))
        client.meta.events.register("before-call.iam.GetAccountAuthorizationDetails",
                                    before_call)

    def request(name: str) -> None:
        try:
            barrier.wait(10)
            if via == "service":
                results[name] = sync_account(account=AwsAccount.objects.get(pk=pk))
            else:
                results[name] = sync_account_task.apply(args=[pk]).get()
        except Exception as exc:  # recorded, asserted below
            results[name] = exc
        finally:
            finished.set()
            connections.close_all()

    with client_hooks(hold_collection):
        threads = [threading.Thread(target=request, args=(n,)) for n in ("one", "two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert not any(t.is_alive() for t in threads)
    run = SyncRun.objects.get()  # exactly one run was created
    assert run.status == "succeeded", run.error
    assert waited == [True]  # the winner was still collecting when the loser was refused
    if via == "service":
        busy = [r for r in results.values() if isinstance(r, SyncAlreadyRunning)]
        won = [r for r in results.values() if isinstance(r, governance.sync.SyncOutcome)]
        assert len(busy) == 1 and len(won) == 1, results
        assert busy[0].run.pk == run.pk == won[0].run.pk
    else:
        assert sorted(results.values(), key=lambda r: r is not None) == [None, run.pk], results
    assert AccessKey.objects.count() == len(keys)


# -- the database failing while storing ------------------------------------------------------

def kill_this_connection() -> None:
    """Have Postgres terminate this thread's backend, as a server restart or a proxy would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"},
                         autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.parametrize("loss", ["raised", "connection-killed"])
def test_database_failure_while_storing_rolls_back_and_the_task_retries(
        loss, aws, register_account, transactional_db, monkeypatch):
    keys = seed(A, 2)
    account = register_account(A)
    assert sync_account(account=account).run.status == "succeeded"
    late_key = change(A, keys)
    before = stored(A)
    real_reconcile = governance.sync.reconcile_account
    attempts: list[dict] = []

    def reconcile_then_lose_the_database(**kwargs):
        attempts.append({"found": stored(A)})  # what this attempt starts from
        counts = real_reconcile(**kwargs)
        if len(attempts) == 1:
            attempts[0]["wrote"] = IamUser.objects.filter(account=account, name="late").exists()
            if loss == "raised":
                raise OperationalError("server closed the connection unexpectedly")
            kill_this_connection()
            IamUser.objects.count()  # a real OperationalError from psycopg
            pytest.fail("the terminated connection still answered")
        return counts

    monkeypatch.setattr(governance.sync, "reconcile_account", reconcile_then_lose_the_database)

    # throw=False: with task_eager_propagates (the project's setting) an eager apply() would
    # raise celery's Retry instead of running the retry; without it, apply() runs it at once.
    result = sync_account_task.apply(args=[account.pk], throw=False)

    assert result.successful(), result.traceback
    assert len(attempts) == 2
    assert attempts[0]["wrote"] is True  # the first attempt really had written rows ...
    assert attempts[1]["found"] == before  # ... and none of them survived its failure
    history = list(SyncRun.objects.filter(account=account).order_by("started_at"))
    assert [r.status for r in history] == ["succeeded", "failed", "succeeded"]
    failed, retried = history[1], history[2]
    assert failed.failure_kind == "error"
    assert "storing failed: OperationalError; nothing was changed" in failed.error
    assert not AccessKeyEvent.objects.filter(sync_run=failed).exists()
    assert result.get() == retried.pk
    assert (retried.keys_created, retried.keys_removed) == (1, 1)
    assert_change_applied(A, keys, late_key)


# -- a run expired as abandoned while it was still working ------------------------------------

@pytest.mark.django_db
def test_run_expired_while_working_stores_nothing_and_reports_abandoned(aws, register_account,
                                                                        settings):
    """A slow worker's run goes stale and a newer run takes the account over and stores.

    When the slow run reaches storing, its older snapshot must not overwrite the newer run's
    data, and it ends as an ordinary failed outcome (not an exception that would stop
    ``sync_accounts`` or fail the task).
    """
    keys = seed(A, 2)
    account = register_account(A)
    assert sync_account(account=account).run.status == "succeeded"
    state: dict[str, object] = {}

    def overtake(account_id, client):
        if client.meta.service_model.service_name != "iam":
            return

        def before_call(**_):
            if state:  # only once, and not inside the newer run itself
                return
            slow = SyncRun.objects.get(account=account, status="running")
            stale = slow.heartbeat_at - timedelta(seconds=settings.KEYLEDGER_SYNC_LOCK_SECONDS + 1)
            SyncRun.objects.filter(pk=slow.pk).update(heartbeat_at=stale)
            state["late_key"] = change(A, keys)  # AWS changes after the slow run read users
            state["newer"] = sync_account(account=account).run
        client.meta.events.register("before-call.iam.GetAccountSummary", before_call)

    with client_hooks(overtake):
        outcome = sync_account(account=account)

    newer = state["newer"]
    assert newer.status == "succeeded", newer.error
    slow = SyncRun.objects.get(pk=outcome.run.pk)
    assert slow.pk != newer.pk
    assert (slow.status, slow.failure_kind) == ("failed", "abandoned")
    assert outcome.run.status == "failed" and outcome.retryable is False
    assert_change_applied(A, keys, state["late_key"])  # the newer run's data stands
    assert IamUser.objects.get(account=account, name="late").removed_at is None
