"""The credential report poll: a doubling back-off with a ceiling, never a busy loop."""

import pytest
from botocore.awsrequest import AWSResponse

from governance.aws.errors import CollectionError
from governance.aws.session import client_hooks
from tests.conftest import account_clients

from .helpers import ACCOUNT_A

pytestmark = pytest.mark.usefixtures("aws")


def report_stays_started(times: int | None):
    """A client hook: GenerateCredentialReport answers STARTED ``times`` times (None: always).

    A before-call handler that returns ``(http, parsed)`` short-circuits the request in
    botocore; after it, the call goes to moto.
    """
    answered = []

    def handler(model, **_):
        if times is not None and len(answered) >= times:
            return None
        answered.append(model.name)
        return (AWSResponse("https://iam.amazonaws.com/", 200, {}, None),
                {"State": "STARTED", "Description": "generating"})

    def hook(account_id, client):
        client.meta.events.register_first("before-call.iam.GenerateCredentialReport", handler)

    return hook, answered


def test_report_never_ready_is_a_timeout_after_a_doubling_back_off(collect):
    hook, answered = report_stays_started(None)
    sleeps = []
    with client_hooks(hook), pytest.raises(CollectionError) as info:
        collect(ACCOUNT_A, sleeps, poll_first_seconds=1.0, poll_max_seconds=100.0)
    error = info.value
    assert error.kind == "timeout" and error.retryable
    assert "credential report" in error.message and "91 s" in error.message
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # doubling, capped at 30 s
    assert sum(sleeps) <= 100.0
    assert len(answered) == len(sleeps) + 1  # one poll per sleep, plus the first


def test_short_deadline(collect):
    hook, answered = report_stays_started(None)
    sleeps = []
    with client_hooks(hook), pytest.raises(CollectionError) as info:
        collect(ACCOUNT_A, sleeps, poll_first_seconds=0.25, poll_max_seconds=2.0)
    assert info.value.kind == "timeout"
    assert sleeps == [0.25, 0.5, 1.0]
    assert len(answered) == 4


def test_report_ready_after_two_polls(collect):
    account_clients(ACCOUNT_A).client("iam").create_user(UserName="alice")
    account_clients(ACCOUNT_A).client("iam").generate_credential_report()  # moto has one now
    hook, answered = report_stays_started(2)
    with client_hooks(hook):
        snapshot, session, sleeps = collect(ACCOUNT_A, poll_first_seconds=1.5,
                                            poll_max_seconds=60.0)
    assert sleeps == [1.5, 3.0]
    assert answered == ["GenerateCredentialReport"] * 2
    assert [u.name for u in snapshot.users] == ["alice"]
    assert session.calls["iam:GetCredentialReport"] == 1


def test_hooks_only_apply_inside_the_block(collect):
    hook, answered = report_stays_started(None)
    with client_hooks(hook):
        pass
    snapshot, _, sleeps = collect(ACCOUNT_A)
    assert answered == [] and sleeps == [0.5]  # moto: STARTED once, then COMPLETE
    assert snapshot.credential_report_at is not None
