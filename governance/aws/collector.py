"""Collect one account: the calls of DESIGN.md "What is read from AWS, per account".

Per account: one (paged) GetAccountAuthorizationDetails for users, groups, policies and
tags; one credential report (generate with a back-off poll, then get); ListAccessKeys only
for users that the report shows with keys (or that are newer than the report); GetAccountSummary;
DescribeTrails and GetTrailStatus. AWS-managed policy documents come from a store shared
across accounts, so each is fetched once, not once per account.

Given the keys stored by earlier syncs (``stored_keys``), ListAccessKeys is skipped for users
whose report slots still describe exactly those keys: an unchanged account then costs a
constant number of calls. The report cannot show a key deleted and recreated in the same
second with the same status and no use, so callers run a full listing (``stored_keys=None``)
regularly; see ``governance.sync``.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, overload

from .credential_report import ROOT_ROW_USER, ReportRow, parse_credential_report
from .documents import decode_document
from .errors import CollectionError, translate
from .session import AccountSession
from .snapshots import AccountSnapshot, KeySnapshot, PolicyRef, TrailSnapshot, UserSnapshot

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
AUTH_DETAILS_FILTER = ["User", "Group", "LocalManagedPolicy"]


class ManagedPolicyStore(Protocol):
    """Where AWS-managed documents are cached between accounts (the database, in production)."""

    def get(self, arn: str) -> object | None: ...

    def put(self, arn: str, version_id: str, document: object) -> None: ...


class Collector:
    """Reads one account through ``session``; ``collect()`` returns an AccountSnapshot."""

    PROGRESS_SECONDS = 10.0

    def __init__(self, session: AccountSession, managed_policies: ManagedPolicyStore, *,
                 poll_first_seconds: float = 1.0, poll_max_seconds: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep,
                 on_phase: Callable[[str], None] | None = None,
                 stored_keys: Mapping[str, Sequence[KeySnapshot]] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        """``stored_keys``: each user id's keys as last stored; None lists every user's keys.

        ``on_phase`` is also called during the key listing, at most every
        ``PROGRESS_SECONDS``, with how far it got: that keeps the run's heartbeat fresh
        through a listing longer than the sync lock (thousands of users at AWS latency) and
        shows progress on the accounts page."""
        self.clock = clock
        self.session = session
        self.stored_keys = stored_keys
        self.managed_policies = managed_policies
        self.poll_first_seconds = poll_first_seconds
        self.poll_max_seconds = poll_max_seconds
        self.sleep = sleep
        self.on_phase = on_phase or (lambda _phase: None)

    def collect(self) -> AccountSnapshot:
        self.on_phase("reading users and policies")
        details = self._step("iam", self._authorization_details)
        self.on_phase("reading the credential report")
        report_rows, report_at = self._step("iam", self._credential_report)
        self.on_phase("listing access keys")
        users = self._step("iam", lambda: self._users(details))
        keys = self._step("iam", lambda: self._keys(users, report_rows))
        root_user, root_keys = self._root(report_rows)
        self.on_phase("reading account summary and CloudTrail")
        summary_root = self._step("iam", self._account_summary_root_keys)
        if summary_root and not root_keys:
            # The report has no root row (or an old one) but the summary says root has keys.
            root_keys = [KeySnapshot(user_id=self.session.account_id, access_key_id=None,
                                     status="Active", created_at=None, slot=1)]
        if root_keys and root_user is None:
            root_user = self._root_user(None)
        trails = self._step("cloudtrail", self._trails)
        return AccountSnapshot(
            account_id=self.session.account_id,
            users=tuple(users) + ((root_user,) if root_user else ()),
            keys=tuple(keys) + tuple(root_keys),
            root_keys_present=bool(summary_root) or any(k.status == "Active" for k in root_keys),
            cloudtrail_logging=any(t.multi_region and t.logging for t in trails),
            trails=tuple(trails),
            credential_report_at=report_at,
            calls_by_action=dict(self.session.calls),
            full_listing=self.stored_keys is None,
        )

    # -- steps ------------------------------------------------------------------------------

    def _step(self, service: str, fn):
        try:
            return fn()
        except Exception as exc:
            raise translate(exc, service) from None

    def _authorization_details(self) -> dict:
        iam = self.session.client("iam")
        merged: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "Policies": []}
        paginator = iam.get_paginator("get_account_authorization_details")
        for page in paginator.paginate(Filter=AUTH_DETAILS_FILTER):
            for key in merged:
                merged[key].extend(page.get(key, []))
        return merged

    def _credential_report(self) -> tuple[list[ReportRow], datetime | None]:
        iam = self.session.client("iam")
        waited, delay = 0.0, self.poll_first_seconds
        while iam.generate_credential_report()["State"] != "COMPLETE":
            if waited + delay > self.poll_max_seconds:
                raise CollectionError(
                    "timeout", f"the credential report was not ready after {waited:.0f} s"
                )
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 30.0)
        response = iam.get_credential_report()
        generated = response.get("GeneratedTime")
        if generated is not None and generated.tzinfo is None:
            generated = generated.replace(tzinfo=UTC)
        return parse_credential_report(response["Content"]), generated

    def _account_summary_root_keys(self) -> bool:
        summary = self.session.client("iam").get_account_summary()["SummaryMap"]
        return int(summary.get("AccountAccessKeysPresent", 0)) > 0

    def _trails(self) -> list[TrailSnapshot]:
        cloudtrail = self.session.client("cloudtrail")
        trails, found_logging = [], False
        for trail in cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", []):
            multi = bool(trail.get("IsMultiRegionTrail"))
            logging = None
            if multi and not found_logging:
                status = cloudtrail.get_trail_status(Name=trail.get("TrailARN") or trail["Name"])
                logging = bool(status.get("IsLogging"))
                found_logging = logging
            trails.append(TrailSnapshot(
                name=str(trail.get("Name", ""))[:256], arn=str(trail.get("TrailARN", ""))[:2048],
                home_region=str(trail.get("HomeRegion", ""))[:64], multi_region=multi,
                logging=logging,
            ))
        return trails

    # -- shaping ----------------------------------------------------------------------------

    def _users(self, details: dict) -> list[UserSnapshot]:
        local = {p["Arn"]: p for p in details["Policies"]}
        groups = {g["GroupName"]: g for g in details["GroupDetailList"]}
        users = []
        for user in details["UserDetailList"]:
            name = user["UserName"]
            refs = [PolicyRef("user-inline", p["PolicyName"],
                              decode_document(p["PolicyDocument"], where=f"{name} inline"))
                    for p in user.get("UserPolicyList", [])]
            refs += [self._managed("user-attached", a, local)
                     for a in user.get("AttachedManagedPolicies", [])]
            group_names = tuple(sorted(user.get("GroupList", [])))
            for group_name in group_names:
                group = groups.get(group_name, {})
                refs += [PolicyRef("group-inline", p["PolicyName"],
                                   decode_document(p["PolicyDocument"], where=f"{group_name}"),
                                   group=group_name)
                         for p in group.get("GroupPolicyList", [])]
                refs += [self._managed("group-attached", a, local, group=group_name)
                         for a in group.get("AttachedManagedPolicies", [])]
            users.append(UserSnapshot(
                user_id=user["UserId"], name=name, arn=user["Arn"], path=user.get("Path", "/"),
                created_at=_aware(user.get("CreateDate")),
                password_enabled=False, password_last_used_at=None,
                tags=tuple((t["Key"], t["Value"]) for t in user.get("Tags", [])),
                group_names=group_names, policies=tuple(refs),
            ))
        return users

    def _managed(self, source: str, attached: dict, local: dict, group: str = "") -> PolicyRef:
        arn, name = attached["PolicyArn"], attached.get("PolicyName", "")
        if arn in local:
            versions = local[arn].get("PolicyVersionList", [])
            default = next((v for v in versions if v.get("IsDefaultVersion")), None)
            document = decode_document(default["Document"], where=arn) if default else None
        else:
            document = self._aws_managed_document(arn)
        return PolicyRef(source, name, document, arn=arn, group=group)

    def _aws_managed_document(self, arn: str):
        cached = self.managed_policies.get(arn)
        if cached is not None:
            return cached
        iam = self.session.client("iam")

        def fetch():
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            raw = iam.get_policy_version(PolicyArn=arn, VersionId=version)
            return version, decode_document(raw["PolicyVersion"]["Document"], where=arn)

        version, document = self._step("iam", fetch)
        self.managed_policies.put(arn, version, document)
        return document

    def _keys(self, users: list[UserSnapshot], report_rows: list[ReportRow]) -> list[KeySnapshot]:
        """Keys of every user that may have one; slots joined to keys by creation time."""
        by_name = {row.user: row for row in report_rows if not row.is_root}
        iam = self.session.client("iam")
        keys: list[KeySnapshot] = []
        reported_at = self.clock()
        for index, user in enumerate(users):
            if self.clock() - reported_at >= self.PROGRESS_SECONDS:
                self.on_phase(f"listing access keys ({index} of {len(users)} users)")
                reported_at = self.clock()
            row = by_name.get(user.name)
            if row is not None:
                users[index] = _with_login(user, row)
                if not row.has_keys:
                    continue
                stored = (self.stored_keys or {}).get(user.user_id, ())
                if self.stored_keys is not None and slots_describe(row, stored):
                    keys.extend(self._join_slots(user, [_as_listed(k) for k in stored], row))
                    continue
            # Users absent from the report are newer than it: list them too, to miss nothing.
            listed = []
            for page in iam.get_paginator("list_access_keys").paginate(UserName=user.name):
                listed.extend(page.get("AccessKeyMetadata", []))
            keys.extend(self._join_slots(user, listed, row))
        return keys

    def _join_slots(self, user: UserSnapshot, listed: list[dict],
                    row: ReportRow | None) -> Iterable[KeySnapshot]:
        # The report has whole seconds: a second shared by two slots or two keys is ambiguous,
        # so those keys take the per-key fallback rather than another key's last use.
        seconds = Counter(_aware(i["CreateDate"]).replace(microsecond=0)
                          for i in listed if i.get("CreateDate"))
        rotated = Counter(s.last_rotated for s in row.slots if s.last_rotated) if row else {}
        slots = {s.last_rotated: s for s in row.slots
                 if s.last_rotated and rotated[s.last_rotated] == 1} if row else {}
        for item in listed:
            created = _aware(item.get("CreateDate"))
            second = created.replace(microsecond=0) if created else None
            slot = slots.get(second) if second and seconds[second] == 1 else None
            if slot is not None:
                used_at, service, region = (slot.last_used_at, slot.last_used_service,
                                            slot.last_used_region)
            else:
                used_at, service, region = self._last_used(item["AccessKeyId"])
            yield KeySnapshot(
                user_id=user.user_id, access_key_id=item["AccessKeyId"], status=item["Status"],
                created_at=created, last_used_at=used_at,
                last_used_service=_clean(service), last_used_region=_clean(region),
            )

    def _last_used(self, key_id: str) -> tuple[datetime | None, str, str]:
        """Fallback for a key the (possibly hours-old) report does not show yet."""
        info = self.session.client("iam").get_access_key_last_used(AccessKeyId=key_id)
        used = info.get("AccessKeyLastUsed", {})
        return (_aware(used.get("LastUsedDate")), used.get("ServiceName", ""),
                used.get("Region", ""))

    def _root(self, report_rows: list[ReportRow]):
        row = next((r for r in report_rows if r.is_root), None)
        if row is None:
            return None, []
        keys = [
            KeySnapshot(user_id=self.session.account_id, access_key_id=None,
                        status="Active" if slot.active else "Inactive",
                        created_at=slot.last_rotated, last_used_at=slot.last_used_at,
                        last_used_service=slot.last_used_service,
                        last_used_region=slot.last_used_region, slot=slot.slot)
            for slot in row.slots if slot.exists
        ]
        return self._root_user(row), keys

    def _root_user(self, row: ReportRow | None) -> UserSnapshot:
        account_id = self.session.account_id
        return UserSnapshot(
            user_id=account_id, name=ROOT_ROW_USER,
            arn=row.arn if row else f"arn:aws:iam::{account_id}:root", path="/",
            created_at=row.created_at if row else None,
            password_enabled=row.password_enabled if row else False,
            password_last_used_at=row.password_last_used_at if row else None,
        )


def slots_describe(row: ReportRow, stored: Sequence[KeySnapshot]) -> bool:
    """Whether the report row's key slots are exactly ``stored`` (so listing can be skipped).

    Each slot that holds a key must match one stored key by creation second and active flag,
    one to one. Any doubt means "list": a slot without a rotation date (N/A), two keys created
    in the same second (the pairing would be a guess), or a slot whose last use is older
    than the stored key's. Last use never moves backwards for one key, so an older one means
    another key took the slot: deleted and recreated within the same second.
    """
    slots = [slot for slot in row.slots if slot.exists]
    if len(slots) != len(stored) or any(slot.last_rotated is None for slot in slots):
        return False
    by_second: dict[datetime | None, Any] = {}
    for key in stored:
        if key.created_at is None or key.access_key_id is None:
            return False
        by_second[_aware(key.created_at).replace(microsecond=0)] = key
    if len(by_second) != len(stored):
        return False
    for slot in slots:
        key = by_second.pop(slot.last_rotated, None)
        if key is None or slot.active != (key.status == "Active"):
            return False
        if key.last_used_at is not None and (
                slot.last_used_at is None
                or slot.last_used_at < _aware(key.last_used_at).replace(microsecond=0)):
            return False
    return True


def _as_listed(key: KeySnapshot) -> dict:
    """A stored key in ListAccessKeys' shape, so slots join to it as to a listed one."""
    return {"AccessKeyId": key.access_key_id, "Status": key.status, "CreateDate": key.created_at}


_NOTHING = {"N/A", "not_supported", "no_information"}


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value in _NOTHING else value[:128]


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _with_login(user: UserSnapshot, row: ReportRow) -> UserSnapshot:
    return replace(user, password_enabled=row.password_enabled,
                   password_last_used_at=row.password_last_used_at)
