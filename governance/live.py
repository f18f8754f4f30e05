"""Live changes: refresh the one IAM user (or one group's users) an IAM event names.

The consumer of the key-change queue (``evidence.consumer``) calls ``refresh`` for each
event. It reads the user's present state through the account's own session (the sync's
assume-role code, one session per account kept for the consumer's life, so AssumeRole is paid
once, not per event), and writes it through the sync's reconcile and evaluation, scoped to
that user: the same findings open, the owner resolved by tag sees the same ``NO_PURPOSE``
ask, and a deleted or deactivated key gets the same ``AccessKeyEvent`` as a sync gives it.

Order does not matter and duplicates do nothing: the event only says *whom* to re-read; what
is written is what AWS says now. An event older than what is stored re-reads the newer state;
a repeated event finds nothing to write.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .aws.session import AccountSession, session_for
from .aws.snapshots import KeySnapshot
from .aws.user_reader import UserReader
from .evaluation import evaluate_and_announce
from .models import AccessKey, AwsAccount, IamUser
from .reconcile import ReconcileCounts, reconcile_user

log = logging.getLogger("keyledger.live")


class UnknownAccount(Exception):
    """The event came from an account Keyledger does not govern (or no longer does)."""


@dataclass
class RefreshOutcome:
    """What one event's refresh read and wrote: users re-read, keys created/removed, calls."""

    users: int = 0
    keys_created: int = 0
    keys_updated: int = 0
    keys_removed: int = 0
    rows_written: int = 0
    calls: Counter = field(default_factory=Counter)

    def add(self, counts: ReconcileCounts) -> None:
        self.users += 1
        self.keys_created += counts.keys_created
        self.keys_updated += counts.keys_updated
        self.keys_removed += counts.keys_removed
        self.rows_written += counts.rows_written


class Sessions:
    """One session per governed account for the consumer's life (credentials refresh by
    themselves), re-made when the account's role or external id changes."""

    def __init__(self):
        self._sessions: dict[str, tuple[tuple[str, str], AccountSession]] = {}

    def holds(self, account: AwsAccount) -> bool:
        cached = self._sessions.get(account.account_id)
        return cached is not None and cached[0] == (account.role_arn, account.external_id)

    def get(self, account: AwsAccount) -> AccountSession:
        identity = (account.role_arn, account.external_id)
        cached = self._sessions.get(account.account_id)
        if cached is None or cached[0] != identity:
            session = session_for(account_id=account.account_id, role_arn=account.role_arn,
                                  external_id=account.external_id, calls=Counter())
            self._sessions[account.account_id] = (identity, session)
            return session
        return cached[1]


def governed_account(account_id: str) -> AwsAccount:
    account = AwsAccount.objects.filter(account_id=account_id).first()
    if account is None:
        raise UnknownAccount(f"account {account_id} is not governed by Keyledger")
    return account


def refresh(*, account_id: str, user_names: tuple[str, ...] = (), group_name: str = "",
            keys_only: bool = False, sessions: Sessions) -> RefreshOutcome:
    """Re-read and store the named users (and, for ``group_name``, each member), now.

    ``keys_only``: the event changed only keys, so a stored user's keys alone are re-read
    (ListAccessKeys, and GetAccessKeyLastUsed for a key not stored yet). Raises
    UnknownAccount, or CollectionError when AWS could not be read (the event is retried).
    """
    # Imported here: sync imports reduction, which needs the app registry ready.
    from .sync import DatabaseManagedPolicyStore

    account = governed_account(account_id)
    known = sessions.holds(account)
    session = sessions.get(account)
    before = Counter(session.calls) if known else Counter()  # a new one counts its AssumeRole
    reader = UserReader(session, DatabaseManagedPolicyStore())
    outcome = RefreshOutcome()
    names = list(user_names)
    if group_name:
        members = reader.group_user_names(group=group_name)
        # A deleted group's former members are re-read by the events that removed them.
        names += [name for name in members or () if name not in names]
    for name in names:
        outcome.add(_refresh_user(account, reader, name, keys_only=keys_only))
    outcome.calls = session.calls - before
    return outcome


def _refresh_user(account: AwsAccount, reader: UserReader, name: str, *,
                  keys_only: bool) -> ReconcileCounts:
    from reduction.issuance_link import issuance_keys_appeared

    stored_user = (IamUser.objects.filter(account=account, name=name, removed_at__isnull=True)
                   .first())
    user = None
    if keys_only and stored_user is not None:
        keys = reader.read_keys(user_id=stored_user.user_id, name=name,
                                stored=_stored_keys(stored_user))
    else:
        user = reader.read_user(name=name)
        keys = (reader.read_keys(user_id=user.user_id, name=name,
                                 stored=_stored_keys(stored_user) if stored_user else {})
                if user is not None else None)
    now = timezone.now()
    with transaction.atomic():
        counts = reconcile_user(account=account, name=name, user=user, keys=keys, now=now)
        issuance_keys_appeared(account=account, counts=counts, now=now)
        evaluate_and_announce(
            account=account, keys=AccessKey.objects.filter(account=account, user__name=name),
            now=now)
    return counts


def _stored_keys(user: IamUser) -> dict[str, KeySnapshot]:
    return {
        key.access_key_id: KeySnapshot(
            user_id=user.user_id, access_key_id=key.access_key_id, status=key.status,
            created_at=key.created_at, last_used_at=key.last_used_at,
            last_used_service=key.last_used_service, last_used_region=key.last_used_region)
        for key in AccessKey.objects.filter(user=user, removed_at__isnull=True,
                                            access_key_id__isnull=False)
        if key.access_key_id
    }
