"""Sessions into AWS accounts, and counting of every call made through them.

Keyledger holds no long-term credentials: it starts from the ambient credentials of its host
(instance role, container role, SSO profile, or the environment) and assumes a read-only
role in each member account. Every client it hands out counts its API calls, so a sync run
can report what it cost, and honours ``AWS_ENDPOINT_URL`` (boto3 reads it), so an emulator
such as moto can stand in for AWS.
"""

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from django.conf import settings

from .errors import translate

ClientHook = Callable[[str, object], None]
_client_hooks: list[ClientHook] = []


@contextlib.contextmanager
def client_hooks(hook: ClientHook) -> Iterator[None]:
    """Run ``hook(account_id, client)`` on every client created inside the block.

    The extension point for botocore event handlers (fault injection in tests, latency in
    benchmarks): they act on real requests rather than replacing the client.
    """
    _client_hooks.append(hook)
    try:
        yield
    finally:
        _client_hooks.remove(hook)


def client_config(region: str = "") -> Config:
    """Retries, time-outs and region for every client (botocore's standard retry mode);
    ``region`` overrides ``KEYLEDGER_AWS_REGION`` for a service homed elsewhere (Identity
    Center lives in one region of its account)."""
    return Config(
        region_name=region or settings.KEYLEDGER_AWS_REGION,
        # total_max_attempts counts the first request (botocore's max_attempts would not).
        retries={"mode": settings.KEYLEDGER_AWS_RETRY_MODE,
                 "total_max_attempts": settings.KEYLEDGER_AWS_MAX_ATTEMPTS},
        connect_timeout=settings.KEYLEDGER_AWS_CONNECT_TIMEOUT,
        read_timeout=settings.KEYLEDGER_AWS_READ_TIMEOUT,
    )


class AccountSession:
    """Clients for one account, all counting into one ``calls`` counter (``service:Action``)."""

    def __init__(self, account_id: str, boto_session: boto3.Session,
                 calls: Counter | None = None, region: str = ""):
        self.account_id = account_id
        self.region = region
        self._session = boto_session
        self._clients: dict[str, object] = {}
        self.calls: Counter = calls if calls is not None else Counter()

    def client(self, service: str):
        if service not in self._clients:
            client = self._session.client(service, config=client_config(self.region))
            client.meta.events.register("before-call", self._count)
            for hook in list(_client_hooks):
                hook(self.account_id, client)
            self._clients[service] = client
        return self._clients[service]

    def _count(self, model, **_kwargs):
        self.calls[f"{model.service_model.signing_name}:{model.name}"] += 1


def ambient_session(account_id: str = "", calls: Counter | None = None) -> AccountSession:
    """The host's own credentials, for accounts registered without a role ARN."""
    return AccountSession(account_id, boto3.Session(region_name=settings.KEYLEDGER_AWS_REGION),
                          calls)


def assumed_session(*, account_id: str, role_arn: str, external_id: str = "",
                    calls: Counter | None = None, region: str = "") -> AccountSession:
    """Assume ``role_arn`` (short-lived, with the external id) and return its clients.

    The temporary credentials live only inside the returned boto3 session: they are never
    logged, stored or returned.
    """
    calls = calls if calls is not None else Counter()
    base = ambient_session(account_id, calls)
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": settings.KEYLEDGER_ROLE_SESSION_NAME,
        "DurationSeconds": settings.KEYLEDGER_ASSUME_ROLE_SECONDS,
    }
    if external_id:
        params["ExternalId"] = external_id
    sts = base.client("sts")

    def fetch() -> dict:
        """Fresh credentials; botocore calls this again before the session expires."""
        credentials = sts.assume_role(**params)["Credentials"]
        return {"access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat()}

    try:
        refreshable = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role")
    except Exception as exc:
        raise translate(exc, "sts") from None
    # botocore refreshes 15 minutes before expiry by default, which for a 15-minute session
    # would mean an AssumeRole before every call: refresh in the last two minutes instead.
    refreshable._advisory_refresh_timeout = 120
    refreshable._mandatory_refresh_timeout = 60
    core = botocore.session.get_session()
    core._credentials = refreshable  # a long sync outlives one 15-minute session safely
    session = boto3.Session(botocore_session=core, region_name=settings.KEYLEDGER_AWS_REGION)
    return AccountSession(account_id, session, calls, region)


def session_for(*, account_id: str, role_arn: str, external_id: str,
                calls: Counter | None = None, region: str = "") -> AccountSession:
    """The session a sync uses: assumed role when the account names one, else ambient.
    ``region``: where its clients call (default ``KEYLEDGER_AWS_REGION``)."""
    if role_arn:
        return assumed_session(account_id=account_id, role_arn=role_arn,
                               external_id=external_id, calls=calls, region=region)
    session = ambient_session(account_id, calls)
    session.region = region
    return session
