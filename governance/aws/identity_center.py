"""Reading IAM Identity Center: who has a user, and which permission sets on which accounts.

A person's key has a way out when its owner can sign in instead (DESIGN.md "Fewer keys"):
that needs their Identity Center user (``identitystore``) and its account assignments
(``sso-admin``), direct or through a group. Both are read in the account that holds
Identity Center (the management account or its delegated administrator), through
``KEYLEDGER_IDENTITY_CENTER_ROLE_ARN`` in ``KEYLEDGER_IDENTITY_CENTER_REGION``.

People are found by e-mail, compared lower-cased, or by user name: the directory keeps
whatever spelling the identity provider pushed, and ``GetUserId`` matches it exactly, so
the users are listed once and matched here. Every string from the directory is clipped at
this border; the records are frozen dataclasses.

The IAM actions used, and only these (``deploy/aws/keyledger-identity-center-reader*``):
``sso:ListInstances``, ``identitystore:ListUsers``,
``identitystore:ListGroupMembershipsForMember``,
``sso:ListAccountAssignmentsForPrincipal``, ``sso:DescribePermissionSet``.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from governance.untrusted import clip

from .errors import CollectionError, translate
from .session import AccountSession, session_for

NAME_CHARS = 128
EMAIL_CHARS = 254


@dataclass(frozen=True)
class IdentityCenterUser:
    user_id: str
    user_name: str
    display_name: str
    emails: tuple[str, ...]


@dataclass(frozen=True)
class AccountAssignment:
    """A permission set on an account, and the group it comes through ('' when direct)."""

    account_id: str
    permission_set_arn: str
    permission_set_name: str
    via_group_id: str = ""


@dataclass(frozen=True)
class PersonAccess:
    """One person as Identity Center knows them (``user`` None: no user found)."""

    email: str
    user: IdentityCenterUser | None
    assignments: tuple[AccountAssignment, ...] = ()


@dataclass(frozen=True)
class IdentityCenterSnapshot:
    instance_arn: str
    identity_store_id: str
    people: tuple[PersonAccess, ...]
    calls_by_action: dict[str, int]

    def for_email(self, email: str) -> PersonAccess | None:
        wanted = email.strip().lower()
        return next((p for p in self.people if p.email == wanted), None)


def identity_center_session(calls: Counter | None = None) -> AccountSession:
    """Clients in the Identity Center account and region: through
    ``KEYLEDGER_IDENTITY_CENTER_ROLE_ARN`` when set (with its external id), else ambient."""
    return session_for(account_id="identity-center",
                       role_arn=settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN,
                       external_id=settings.KEYLEDGER_IDENTITY_CENTER_EXTERNAL_ID,
                       calls=calls, region=settings.KEYLEDGER_IDENTITY_CENTER_REGION)


class IdentityCenterReader:
    """Reads through ``session``; ``read(emails)`` returns an IdentityCenterSnapshot."""

    def __init__(self, session: AccountSession, instance_arn: str = ""):
        self.session = session
        self.wanted_instance = instance_arn
        self._permission_set_names: dict[str, str] = {}

    def read(self, emails: Iterable[str]) -> IdentityCenterSnapshot:
        """Each e-mail's user and assignments, every account (one listing of the users,
        then one assignment listing per person and per group they belong to)."""
        instance_arn, store_id = self._step("sso", self._instance)
        users = self._step("identitystore", lambda: self._users(store_id))
        people = []
        for email in sorted({e.strip().lower() for e in emails if e and e.strip()}):
            user = users.get(email)
            assignments = () if user is None else self._assignments(instance_arn, store_id,
                                                                    user)
            people.append(PersonAccess(email=email, user=user, assignments=assignments))
        return IdentityCenterSnapshot(instance_arn=instance_arn, identity_store_id=store_id,
                                      people=tuple(people),
                                      calls_by_action=dict(self.session.calls))

    def _step(self, service: str, fn):
        try:
            return fn()
        except Exception as exc:
            raise translate(exc, service) from None

    def _instance(self) -> tuple[str, str]:
        """The configured instance, or the account's only one (an account has at most one
        organization instance)."""
        paginator = self.session.client("sso-admin").get_paginator("list_instances")
        instances = [i for page in paginator.paginate() for i in page.get("Instances", [])]
        if self.wanted_instance:
            instances = [i for i in instances if i.get("InstanceArn") == self.wanted_instance]
        if not instances:
            wanted = self.wanted_instance or "any instance"
            raise CollectionError("error", f"Identity Center: {wanted} not found in the "
                                           "account the reader role is in.")
        return str(instances[0]["InstanceArn"]), str(instances[0]["IdentityStoreId"])

    def _users(self, store_id: str) -> dict[str, IdentityCenterUser]:
        """Every user, by each of their e-mails and their user name, lower-cased."""
        found: dict[str, IdentityCenterUser] = {}
        paginator = self.session.client("identitystore").get_paginator("list_users")
        for page in paginator.paginate(IdentityStoreId=store_id):
            for raw in page.get("Users", []):
                user = IdentityCenterUser(
                    user_id=clip(str(raw.get("UserId", "")), NAME_CHARS),
                    user_name=clip(str(raw.get("UserName", "")), EMAIL_CHARS),
                    display_name=clip(str(raw.get("DisplayName", "")), NAME_CHARS),
                    emails=tuple(clip(str(e.get("Value", "")), EMAIL_CHARS)
                                 for e in raw.get("Emails", []) if e.get("Value")))
                for name in (user.user_name, *user.emails):
                    found.setdefault(name.strip().lower(), user)
        return found

    def _assignments(self, instance_arn: str, store_id: str,
                     user: IdentityCenterUser) -> tuple[AccountAssignment, ...]:
        """The user's assignments, direct and through each group they belong to (AWS lists
        a principal's own assignments only)."""
        groups = self._step("identitystore", lambda: self._groups(store_id, user.user_id))
        found: set[AccountAssignment] = set()
        for principal_type, principal_id in [("USER", user.user_id)] + [
                ("GROUP", group) for group in groups]:
            found |= self._step("sso", lambda t=principal_type, p=principal_id:
                                self._principal_assignments(instance_arn, t, p))
        return tuple(sorted(found, key=lambda a: (a.account_id, a.permission_set_name,
                                                  a.via_group_id)))

    def _groups(self, store_id: str, user_id: str) -> list[str]:
        paginator = self.session.client("identitystore").get_paginator(
            "list_group_memberships_for_member")
        return sorted({str(m["GroupId"])
                       for page in paginator.paginate(IdentityStoreId=store_id,
                                                      MemberId={"UserId": user_id})
                       for m in page.get("GroupMemberships", []) if m.get("GroupId")})

    def _principal_assignments(self, instance_arn: str, principal_type: str,
                               principal_id: str) -> set[AccountAssignment]:
        paginator = self.session.client("sso-admin").get_paginator(
            "list_account_assignments_for_principal")
        found = set()
        for page in paginator.paginate(InstanceArn=instance_arn, PrincipalId=principal_id,
                                       PrincipalType=principal_type):
            for raw in page.get("AccountAssignments", []):
                account_id = str(raw.get("AccountId", ""))
                arn = str(raw.get("PermissionSetArn", ""))
                if not (account_id.isascii() and account_id.isdigit() and len(account_id) == 12):
                    continue  # not an account (an assignment to an application, or junk)
                found.add(AccountAssignment(
                    account_id=account_id, permission_set_arn=clip(arn, 2048),
                    permission_set_name=self._permission_set_name(instance_arn, arn),
                    via_group_id="" if principal_type == "USER" else clip(principal_id,
                                                                           NAME_CHARS)))
        return found

    def _permission_set_name(self, instance_arn: str, arn: str) -> str:
        """The set's name, described once per read however many people hold it."""
        if arn not in self._permission_set_names:
            described = self.session.client("sso-admin").describe_permission_set(
                InstanceArn=instance_arn, PermissionSetArn=arn)["PermissionSet"]
            self._permission_set_names[arn] = clip(str(described.get("Name", "")), NAME_CHARS)
        return self._permission_set_names[arn]


def identity_center_access(emails: Iterable[str],
                           calls: Counter | None = None) -> IdentityCenterSnapshot:
    """What Identity Center says about these people, read with the configured role."""
    return IdentityCenterReader(identity_center_session(calls),
                                settings.KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN).read(emails)
