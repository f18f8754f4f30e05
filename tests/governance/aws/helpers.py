"""Helpers for the AWS boundary tests: sessions into moto accounts, a policy store."""

from datetime import UTC, datetime

from governance.aws.session import assumed_session

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"


class MemoryPolicyStore:
    """The ManagedPolicyStore protocol over a dict; counts puts to prove fetch-once."""

    def __init__(self):
        self.documents: dict[str, tuple[str, object]] = {}
        self.puts: list[str] = []

    def get(self, arn):
        found = self.documents.get(arn)
        return found[1] if found else None

    def put(self, arn, version_id, document):
        self.puts.append(arn)
        self.documents[arn] = (version_id, document)


class Body:
    """The ``raw`` of an AWSResponse: what urllib3 would have streamed."""

    def __init__(self, content: bytes):
        self.content = content

    def stream(self, **_):
        yield self.content


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def reader_session(account_id: str):
    return assumed_session(account_id=account_id,
                           role_arn=f"arn:aws:iam::{account_id}:role/KeyledgerReader",
                           external_id="xx")
