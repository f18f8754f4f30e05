"""The public commands (DESIGN.md "Public interfaces"), run as an operator would run them."""

import csv
import io
import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from django.core.management import CommandError, call_command

from governance.aws.session import client_hooks
from governance.exports import KEY_EXPORT_COLUMNS
from governance.models import AccessKey, AuditEvent, AwsAccount, SyncRun
from tests.conftest import account_clients

pytestmark = pytest.mark.django_db
A, B, C = "111111111111", "222222222222", "333333333333"


def run(*args) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return out.getvalue(), code


def seed_keys(account_id: str, count: int) -> list[str]:
    iam = account_clients(account_id).client("iam")
    ids = []
    for n in range(count):
        iam.create_user(UserName=f"svc-{n}")
        ids.append(iam.create_access_key(UserName=f"svc-{n}")["AccessKey"]["AccessKeyId"])
    return ids


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_kwargs):
        yield self._body


def throttle(times: int):
    """A client hook that answers the first ``times`` IAM requests with HTTP 400 Throttling."""
    state = {"left": times}
    body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>")

    def before_send(request, **_kwargs):
        if state["left"] <= 0:
            return None
        state["left"] -= 1
        return AWSResponse(request.url, 400, {}, _Raw(body))

    before_send.remaining = state
    return before_send


def test_add_account_validates_and_audits(db):
    out, _ = run("add_account", "123456789012", "--name", "prod",
                 "--role-arn", "arn:aws:iam::123456789012:role/KeyledgerReader",
                 "--external-id", "xyz")
    assert "added 123456789012 (prod)" in out
    assert AuditEvent.objects.filter(action="account.add", object_id=str(
        AwsAccount.objects.get().pk)).exists()
    with pytest.raises(CommandError, match="12 digits"):
        run("add_account", "12345", "--name", "bad")
    with pytest.raises(CommandError, match="role ARN"):
        run("add_account", "210987654321", "--name", "x", "--role-arn", "not-an-arn")
    with pytest.raises(CommandError, match="already exists"):
        run("add_account", "123456789012", "--name", "again")
    # Look-alike digits (Arabic-Indic here) are not an account id, nor part of a role ARN.
    with pytest.raises(CommandError, match="12 digits"):
        run("add_account", "\u0661" * 12, "--name", "lookalike")
    with pytest.raises(CommandError, match="role ARN"):
        run("add_account", "210987654321", "--name", "x",
            "--role-arn", "arn:aws:iam::210987654321:role/Reader\u0661")


def test_discover_accounts_registers_the_organization(aws):
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    created = {org.create_account(AccountName=name, Email=f"{name}@example.com")
               ["CreateAccountStatus"]["AccountId"] for name in ("prod", "dev")}

    out, _ = run("discover_accounts", "--role-name", "AuditReader")
    again, _ = run("discover_accounts")

    accounts = {a.account_id: a for a in AwsAccount.objects.all()}
    assert created <= set(accounts)
    prod = next(a for a in accounts.values() if a.name == "prod")
    assert prod.role_arn == f"arn:aws:iam::{prod.account_id}:role/AuditReader"
    assert prod.source == AwsAccount.Source.ORGANIZATIONS
    assert f"{len(accounts)} added" in out
    assert f"0 added, {len(accounts)} already registered" in again


def test_sync_accounts_survives_denied_and_throttled_accounts(aws, register_account):
    for account_id, count in ((A, 1), (B, 2), (C, 3)):
        seed_keys(account_id, count)
        register_account(account_id)
    first, code = run("sync_accounts")
    assert code == 0 and first.count(" ok in ") == 3
    assert "3 of 3 accounts synced" in first
    account_clients(A).client("iam").create_user(UserName="late")

    throttled = throttle(2)

    def faults(account_id, client):
        if account_id == A and client.meta.service_model.service_name == "iam":
            def deny(**_kwargs):
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}},
                                  "GetAccountAuthorizationDetails")
            client.meta.events.register("before-call.iam.GetAccountAuthorizationDetails", deny)
        if account_id == B and client.meta.service_model.service_name == "iam":
            client.meta.events.register_first("before-send.iam", throttled)

    with client_hooks(faults):
        out, code = run("sync_accounts")

    assert code == 1
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("[")}
    assert "FAILED (access_denied)" in lines[A] and "iam:GetAccountAuthorizationDetails" in lines[A]
    assert " ok in " in lines[B] and " ok in " in lines[C]
    assert "2 of 3 accounts synced" in out
    assert throttled.remaining["left"] == 0  # B really was throttled, and botocore retried
    denied = SyncRun.objects.filter(account__account_id=A).first()
    assert denied.status == SyncRun.Status.FAILED and "AccessDenied" in denied.error
    assert AccessKey.objects.filter(account__account_id=A, removed_at__isnull=True).count() == 1
    assert not AccessKey.objects.filter(account__account_id=A, user__name="late").exists()
    assert AccessKey.objects.filter(account__account_id=B).count() == 2


def test_sync_accounts_refuses_unknown_ids(db):
    with pytest.raises(CommandError, match="unknown account ids: 999999999999"):
        run("sync_accounts", "999999999999")
    with pytest.raises(CommandError, match="no accounts to sync"):
        run("sync_accounts")


def test_export_keys_lists_every_key_with_the_contract_columns(aws, register_account):
    ids = seed_keys(A, 2) + seed_keys(B, 1)
    register_account(A, "prod")
    register_account(B, "dev")
    run("sync_accounts")

    text, _ = run("export_keys", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    as_json = json.loads(run("export_keys", "--format", "json")[0])

    assert text.splitlines()[0] == ",".join(KEY_EXPORT_COLUMNS)
    assert sorted(r["access_key_id"] for r in rows) == sorted(ids)
    assert {r["account_name"] for r in rows} == {"prod", "dev"}
    assert all(r["status"] == "Active" and r["age_days"] == "0" for r in rows)
    assert all(r["created_at"].endswith("Z") and r["last_used_at"] == "" for r in rows)
    assert as_json == rows


def test_root_key_exported_without_key_id(aws, register_account):
    from moto.iam.models import iam_backends

    iam_backends[C]["aws"].account_summary._account_access_keys_present = 1
    register_account(C, "legacy")
    run("sync_accounts")

    rows = list(csv.DictReader(io.StringIO(run("export_keys")[0])))

    assert [(r["user_name"], r["access_key_id"], r["status"]) for r in rows] == [
        ("<root_account>", "", "Active")]
