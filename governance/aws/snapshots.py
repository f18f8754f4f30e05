"""Plain, immutable records of what one account's AWS APIs said during one sync.

They are the border between boto3 and the rest of Keyledger: nothing outside
``governance.aws`` sees a boto3 response, and nothing here knows about the database.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PolicyRef:
    """One policy that applies to a user, with its document as JSON-compatible data.

    ``source`` is ``user-inline``, ``user-attached``, ``group-inline`` or ``group-attached``;
    ``group`` names the group for the group sources; ``arn`` is set for managed policies.
    """

    source: str
    name: str
    document: Any
    arn: str = ""
    group: str = ""


@dataclass(frozen=True)
class UserSnapshot:
    user_id: str
    name: str
    arn: str
    path: str
    created_at: datetime | None
    password_enabled: bool
    password_last_used_at: datetime | None
    tags: tuple[tuple[str, str], ...] = ()
    group_names: tuple[str, ...] = ()
    policies: tuple[PolicyRef, ...] = ()


@dataclass(frozen=True)
class KeySnapshot:
    """A key as AWS lists it. Root keys have no id (``access_key_id`` None) but a slot."""

    user_id: str
    access_key_id: str | None
    status: str
    created_at: datetime | None
    last_used_at: datetime | None = None
    last_used_service: str = ""
    last_used_region: str = ""
    slot: int | None = None


@dataclass(frozen=True)
class TrailSnapshot:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    logging: bool | None


@dataclass(frozen=True)
class AccountSnapshot:
    """Everything one complete collection of an account produced.

    ``full_listing`` is true when every user the report shows with keys was listed, rather
    than some users' keys being carried over from the stored state.
    """

    account_id: str
    users: tuple[UserSnapshot, ...]
    keys: tuple[KeySnapshot, ...]
    root_keys_present: bool
    cloudtrail_logging: bool
    trails: tuple[TrailSnapshot, ...]
    credential_report_at: datetime | None
    calls_by_action: dict[str, int] = field(default_factory=dict)
    full_listing: bool = True


@dataclass(frozen=True)
class OrganizationAccount:
    account_id: str
    name: str
    email: str
    status: str
