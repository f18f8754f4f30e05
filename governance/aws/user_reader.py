"""Read one IAM user as AWS has it now: the live-change path's few calls, not an account sync.

A key event (CreateAccessKey, UpdateAccessKey, DeleteAccessKey) changes only the user's keys,
so ``read_keys`` costs one ListAccessKeys plus one GetAccessKeyLastUsed per key Keyledger has
not stored yet (a new key; stored keys keep their last use until the next sync). Any other
user event (tags, policies, groups, login profile, creation, deletion) takes ``read_user``:
GetUser, GetLoginProfile, the user's inline and attached policies, its groups and theirs,
then the keys as above. AWS-managed documents come from the sync's shared store.

Both return the same frozen snapshots the account collector produces, so the sync's
reconcile and evaluation take them unchanged. Reading the present state (rather than
replaying what an event says changed) makes duplicate and out-of-order events harmless.
"""

from collections.abc import Mapping

from botocore.exceptions import ClientError

from .collector import AWS_MANAGED_PREFIX, Collector, _aware
from .documents import decode_document
from .errors import translate
from .snapshots import KeySnapshot, PolicyRef, UserSnapshot


def _gone(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get(
        "Code") in ("NoSuchEntity", "NoSuchEntityException")


class UserReader(Collector):
    """The account collector's shaping and caches, pointed at one user or group at a time."""

    def read_keys(self, *, user_id: str, name: str,
                  stored: Mapping[str, KeySnapshot]) -> tuple[KeySnapshot, ...] | None:
        """The user's keys now (None: the user no longer exists). ``stored``: its keys as
        Keyledger has them, by key id, whose last use is carried over instead of asked."""
        iam = self.session.client("iam")
        listed: list[dict] = []
        try:
            for page in iam.get_paginator("list_access_keys").paginate(UserName=name):
                listed.extend(page.get("AccessKeyMetadata", []))
        except Exception as exc:
            if _gone(exc):
                return None
            raise translate(exc, "iam") from None
        keys = []
        for item in listed:
            key_id = item["AccessKeyId"]
            known = stored.get(key_id)
            if known is not None:
                used_at, service, region = (known.last_used_at, known.last_used_service,
                                            known.last_used_region)
            else:
                used_at, service, region = self._step("iam", lambda k=key_id: self._last_used(k))
            keys.append(KeySnapshot(
                user_id=user_id, access_key_id=key_id, status=item["Status"],
                created_at=_aware(item.get("CreateDate")), last_used_at=used_at,
                last_used_service=(service or "")[:128], last_used_region=(region or "")[:64]))
        return tuple(keys)

    def read_user(self, *, name: str) -> UserSnapshot | None:
        """The user with its tags, login, groups and every policy that applies (None: gone)."""
        iam = self.session.client("iam")
        try:
            user = iam.get_user(UserName=name)["User"]
        except Exception as exc:
            if _gone(exc):
                return None
            raise translate(exc, "iam") from None
        return self._step("iam", lambda: self._shape(user))

    def group_user_names(self, *, group: str) -> tuple[str, ...] | None:
        """The names of the group's members (None: the group no longer exists)."""
        iam = self.session.client("iam")
        names: list[str] = []
        try:
            for page in iam.get_paginator("get_group").paginate(GroupName=group):
                names.extend(u["UserName"] for u in page.get("Users", []))
        except Exception as exc:
            if _gone(exc):
                return None
            raise translate(exc, "iam") from None
        return tuple(names)

    # -- shaping ----------------------------------------------------------------------------

    def _shape(self, user: dict) -> UserSnapshot:
        iam = self.session.client("iam")
        name = user["UserName"]
        password = True
        try:
            iam.get_login_profile(UserName=name)
        except ClientError as exc:
            if not _gone(exc):
                raise
            password = False
        refs = [PolicyRef("user-inline", policy, self._inline("user", name, policy))
                for policy in self._names(iam, "list_user_policies", "PolicyNames",
                                          UserName=name)]
        refs += [self._attached("user-attached", a) for a in self._names(
            iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)]
        groups = tuple(sorted(g["GroupName"] for g in self._names(
            iam, "list_groups_for_user", "Groups", UserName=name)))
        for group in groups:
            refs += [PolicyRef("group-inline", policy, self._inline("group", group, policy),
                               group=group)
                     for policy in self._names(iam, "list_group_policies", "PolicyNames",
                                               GroupName=group)]
            refs += [self._attached("group-attached", a, group=group) for a in self._names(
                iam, "list_attached_group_policies", "AttachedPolicies", GroupName=group)]
        return UserSnapshot(
            user_id=user["UserId"], name=name, arn=user["Arn"], path=user.get("Path", "/"),
            created_at=_aware(user.get("CreateDate")), password_enabled=password,
            password_last_used_at=_aware(user.get("PasswordLastUsed")),
            tags=tuple((t["Key"], t["Value"]) for t in user.get("Tags", [])),
            group_names=groups, policies=tuple(refs))

    @staticmethod
    def _names(iam, operation: str, field: str, **params) -> list:
        found: list = []
        for page in iam.get_paginator(operation).paginate(**params):
            found.extend(page.get(field, []))
        return found

    def _inline(self, kind: str, owner: str, policy: str):
        iam = self.session.client("iam")
        if kind == "user":
            raw = iam.get_user_policy(UserName=owner, PolicyName=policy)["PolicyDocument"]
        else:
            raw = iam.get_group_policy(GroupName=owner, PolicyName=policy)["PolicyDocument"]
        return decode_document(raw, where=f"{owner} inline {policy}")

    def _attached(self, source: str, attached: dict, group: str = "") -> PolicyRef:
        """As the collector shapes it; a customer-managed document is read here (it differs
        per account, so it never enters the shared AWS-managed store)."""
        arn = attached["PolicyArn"]
        local: dict = {}
        if not arn.startswith(AWS_MANAGED_PREFIX):
            iam = self.session.client("iam")
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)[
                "PolicyVersion"]["Document"]
            local[arn] = {"PolicyVersionList": [{"IsDefaultVersion": True,
                                                  "Document": document}]}
        return self._managed(source, attached, local, group=group)
