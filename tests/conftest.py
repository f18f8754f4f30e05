"""Shared fixtures: AWS through in-process moto, driven by boto3 exactly as production is."""

import boto3
import pytest
from moto import mock_aws

MANAGEMENT_ACCOUNT = "123456789012"


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials so nothing can reach real AWS; never MOTO_ACCOUNT_ID (see NOTES)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def aws(aws_env):
    """In-process moto for the test's duration."""
    with mock_aws():
        yield


def account_clients(account_id: str):
    """boto3 session acting inside ``account_id`` (moto: any assumed role lands there)."""
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/KeyledgerReader", RoleSessionName="tests",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name="us-east-1",
    )


@pytest.fixture
def register_account(db):
    """Register an AWS account to sync through the reader role, as add_account would."""

    from governance.models import AwsAccount

    def register(account_id: str, name: str = "", **fields) -> AwsAccount:
        return AwsAccount.objects.create(
            account_id=account_id, name=name or f"acct-{account_id[-4:]}",
            role_arn=f"arn:aws:iam::{account_id}:role/KeyledgerReader",
            external_id="keyledger-test", **fields,
        )

    return register


@pytest.fixture(scope="session")
def _moto_server():
    from demo.emulator import EmulatedAws

    emulator = EmulatedAws().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def moto_server(_moto_server, monkeypatch):
    """A moto server in this process, reached over HTTP through AWS_ENDPOINT_URL; wiped after."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in _moto_server.environment().items():
        monkeypatch.setenv(name, value)
    yield _moto_server
    _moto_server.reset()
