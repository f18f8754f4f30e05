"""Make the stored copy of one account equal to a complete snapshot of it, in bulk.

Only what differs is written: a snapshot identical to the stored state writes no row, and the
number of queries does not grow with the number of users or keys (bulk operations in
batches). Nothing is deleted: users and keys gone from AWS get ``removed_at``.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from .aws.documents import document_digest
from .aws.snapshots import AccountSnapshot, KeySnapshot, UserSnapshot
from .models import AccessKey, AccessKeyEvent, AwsAccount, IamUser, PolicyDocument
from .untrusted import clip, storable

BATCH = 500
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
USER_FIELDS = ("name", "arn", "path", "created_at", "password_enabled",
               "password_last_used_at", "tags", "group_names", "policies")
KEY_FIELDS = ("status", "created_at", "last_used_at", "last_used_service", "last_used_region")


@dataclass
class ReconcileCounts:
    users_seen: int = 0
    users_created: int = 0
    users_updated: int = 0
    users_removed: int = 0
    keys_seen: int = 0
    keys_created: int = 0
    keys_updated: int = 0
    keys_removed: int = 0
    rows_written: int = 0
    events: list = field(default_factory=list)


def reconcile_account(*, account: AwsAccount, snapshot: AccountSnapshot, now: datetime,
                      sync_run=None) -> ReconcileCounts:
    """Write the differences between ``snapshot`` and the database; call inside a transaction."""
    counts = ReconcileCounts(users_seen=len(snapshot.users), keys_seen=len(snapshot.keys))
    user_values = {u.user_id: _user_values(u) for u in snapshot.users}
    counts.rows_written += _store_documents(snapshot.users)
    users = _reconcile_users(account, user_values, now, counts)
    _reconcile_keys(account, snapshot.keys, users, now, counts, sync_run)
    counts.rows_written += _reconcile_account_facts(account, snapshot)
    return counts


def reconcile_user(*, account: AwsAccount, name: str, user: UserSnapshot | None,
                   keys: tuple[KeySnapshot, ...] | None, now: datetime) -> ReconcileCounts:
    """Write the differences for one IAM user only, as ``reconcile_account`` would for it.

    ``user`` None with ``keys`` None: the user no longer exists (it and its keys get
    ``removed_at``). ``user`` None with ``keys``: only the keys changed, the stored user
    stands. The user is matched by name or by AWS user id (a renamed user keeps its id), so
    no other user of the account is read or touched. Call inside a transaction.
    """
    counts = ReconcileCounts(users_seen=int(user is not None), keys_seen=len(keys or ()))
    user_scope = Q(name=name) | Q(user_id=user.user_id) if user is not None else Q(name=name)
    if user is not None or keys is None:
        values = {user.user_id: _user_values(user)} if user is not None else {}
        counts.rows_written += _store_documents([user] if user is not None else [])
        users = _reconcile_users(account, values, now, counts, scope=user_scope)
    else:
        users = {u.user_id: u for u in IamUser.objects.filter(user_scope, account=account)}
    _reconcile_keys(account, keys or (), users, now, counts, None,
                    scope=Q(user__in=[u.pk for u in users.values() if u.pk]))
    return counts


# -- users ---------------------------------------------------------------------------------

def _user_values(user: UserSnapshot) -> dict:
    """The stored form of a user: strings bounded, policies by document digest."""
    policies = [
        {"source": p.source, "name": clip(p.name, 128), "arn": clip(p.arn, 2048),
         "group": clip(p.group, 128),
         "digest": document_digest(p.document) if p.document is not None else ""}
        for p in user.policies
    ]
    return {
        "name": clip(user.name, 128), "arn": clip(user.arn, 2048), "path": clip(user.path, 512),
        "created_at": user.created_at, "password_enabled": user.password_enabled,
        "password_last_used_at": user.password_last_used_at,
        "tags": {clip(k, TAG_KEY_MAX): clip(v, TAG_VALUE_MAX) for k, v in user.tags},
        "group_names": [clip(g, 128) for g in user.group_names], "policies": policies,
    }


def _store_documents(users) -> int:
    documents = {}
    for user in users:
        for policy in user.policies:
            if policy.document is not None:
                documents[document_digest(policy.document)] = storable(policy.document)
    known: set[str] = set()
    # Sorted: concurrent account syncs then insert shared documents in one order, so two
    # transactions never wait on each other's uncommitted rows in opposite orders (deadlock).
    digests = sorted(documents)
    for start in range(0, len(digests), BATCH):
        known.update(PolicyDocument.objects.filter(digest__in=digests[start:start + BATCH])
                     .values_list("digest", flat=True))
    new = [PolicyDocument(digest=d, document=documents[d]) for d in digests if d not in known]
    PolicyDocument.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
    return len(new)


def _reconcile_users(account, user_values: dict, now, counts,
                     scope: Q | None = None) -> dict[str, IamUser]:
    """``scope``: the stored users the snapshot stands for (default: the whole account)."""
    stored = {u.user_id: u for u in IamUser.objects.filter(scope or Q(), account=account)}
    created, updated, changed_fields = [], [], set()
    for user_id, values in user_values.items():
        row = stored.get(user_id)
        if row is None:
            row = IamUser(account=account, user_id=user_id, **values)
            created.append(row)
            stored[user_id] = row
            continue
        diff = {name for name, value in values.items() if getattr(row, name) != value}
        if row.removed_at is not None:
            diff.add("removed_at")
            row.removed_at = None
        if diff:
            for name in diff - {"removed_at"}:
                setattr(row, name, values[name])
            changed_fields |= diff
            updated.append(row)
    removed = [row for user_id, row in stored.items()
               if user_id not in user_values and row.removed_at is None and row.pk]
    for row in removed:
        row.removed_at = now
    IamUser.objects.bulk_create(created, batch_size=BATCH)
    if updated:
        IamUser.objects.bulk_update(updated, sorted(changed_fields), batch_size=BATCH)
    if removed:
        IamUser.objects.bulk_update(removed, ["removed_at"], batch_size=BATCH)
    counts.users_created, counts.users_updated = len(created), len(updated)
    counts.users_removed = len(removed)
    counts.rows_written += len(created) + len(updated) + len(removed)
    return stored


# -- keys ----------------------------------------------------------------------------------

def _key_identity(access_key_id, user_id, slot):
    return access_key_id if access_key_id else ("root", user_id, slot)


def _reconcile_keys(account, keys: tuple[KeySnapshot, ...], users: dict[str, IamUser], now,
                    counts, sync_run, scope: Q | None = None) -> None:
    """``scope``: the stored keys the snapshot stands for (default: the whole account)."""
    stored = {}
    for row in AccessKey.objects.filter(scope or Q(), account=account).select_related("user"):
        stored[_key_identity(row.access_key_id, row.user.user_id, row.slot)] = row
    created, updated, changed_fields, events = [], [], set(), []
    seen = set()
    for key in keys:
        identity = _key_identity(key.access_key_id, key.user_id, key.slot)
        seen.add(identity)
        values = _key_values(key)
        row = stored.get(identity)
        if row is None:
            row = AccessKey(account=account, user=users[key.user_id],
                            access_key_id=key.access_key_id,
                            slot=key.slot if key.access_key_id is None else None,
                            status_changed_at=now, **values)
            created.append(row)
            events.append((row, AccessKeyEvent.Kind.APPEARED))
            continue
        if row.last_used_at and (values["last_used_at"] is None
                                 or values["last_used_at"] < row.last_used_at):
            # The credential report can be hours old: never move last use backwards.
            for name in ("last_used_at", "last_used_service", "last_used_region"):
                values[name] = getattr(row, name)
        diff = {name for name, value in values.items() if getattr(row, name) != value}
        if "status" in diff:
            row.status_changed_at = now
            diff.add("status_changed_at")
            kind = (AccessKeyEvent.Kind.ACTIVATED if values["status"] == AccessKey.Status.ACTIVE
                    else AccessKeyEvent.Kind.DEACTIVATED)
            events.append((row, kind))
        if row.removed_at is not None:
            row.removed_at = None
            diff.add("removed_at")
            events.append((row, AccessKeyEvent.Kind.REAPPEARED))
        if diff:
            for name in diff & set(values):
                setattr(row, name, values[name])
            changed_fields |= diff
            updated.append(row)
    removed = [row for identity, row in stored.items()
               if identity not in seen and row.removed_at is None]
    for row in removed:
        row.removed_at = now
        events.append((row, AccessKeyEvent.Kind.REMOVED))
    AccessKey.objects.bulk_create(created, batch_size=BATCH)
    if updated:
        AccessKey.objects.bulk_update(updated, sorted(changed_fields), batch_size=BATCH)
    if removed:
        AccessKey.objects.bulk_update(removed, ["removed_at"], batch_size=BATCH)
    AccessKeyEvent.objects.bulk_create(
        [AccessKeyEvent(key=row, kind=kind, at=now, sync_run=sync_run) for row, kind in events],
        batch_size=BATCH,
    )
    counts.keys_created, counts.keys_updated = len(created), len(updated)
    counts.keys_removed = len(removed)
    counts.events = events
    counts.rows_written += len(created) + len(updated) + len(removed) + len(events)


def _key_values(key: KeySnapshot) -> dict:
    return {
        "status": key.status, "created_at": key.created_at, "last_used_at": key.last_used_at,
        "last_used_service": clip(key.last_used_service, 128),
        "last_used_region": clip(key.last_used_region, 64),
    }


# -- account facts ---------------------------------------------------------------------------

def _reconcile_account_facts(account: AwsAccount, snapshot: AccountSnapshot) -> int:
    values = {
        "root_keys_present": snapshot.root_keys_present,
        "cloudtrail_logging": snapshot.cloudtrail_logging,
        "cloudtrail_trails": [
            {"name": t.name, "arn": t.arn, "home_region": t.home_region,
             "multi_region": t.multi_region, "logging": t.logging}
            for t in snapshot.trails
        ],
        "credential_report_at": snapshot.credential_report_at,
    }
    changed = [name for name, value in values.items() if getattr(account, name) != value]
    if not changed:
        return 0
    for name in changed:
        setattr(account, name, values[name])
    account.save(update_fields=changed)
    return 1
