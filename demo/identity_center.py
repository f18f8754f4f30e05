"""An IAM Identity Center directory with people, groups and account assignments, made with
boto3's ``identitystore`` and ``sso-admin`` exactly as an administrator would, for the demo
and the tests (moto gives each account one instance; ``session`` acts in the account that
holds it)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DirectoryPerson:
    """A user; ``assignments`` are (account id, permission set name) held directly."""

    user_name: str
    email: str
    display_name: str = ""
    assignments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DirectoryGroup:
    name: str
    members: tuple[str, ...]  # user names
    assignments: tuple[tuple[str, str], ...] = ()


@dataclass
class Directory:
    """What was created: the instance, and ids by user name, group name and set name."""

    instance_arn: str
    identity_store_id: str
    user_ids: dict[str, str] = field(default_factory=dict)
    group_ids: dict[str, str] = field(default_factory=dict)
    permission_sets: dict[str, str] = field(default_factory=dict)


def seed_identity_center(session, *, people: Iterable[DirectoryPerson],
                         groups: Iterable[DirectoryGroup] = (),
                         permission_sets: Mapping[str, str] | None = None,
                         region: str = "us-east-1") -> Directory:
    """Create the users, groups, permission sets (name -> description) and assignments."""
    admin = session.client("sso-admin", region_name=region)
    store = session.client("identitystore", region_name=region)
    instance = admin.list_instances()["Instances"][0]
    directory = Directory(instance["InstanceArn"], instance["IdentityStoreId"])
    people, groups = list(people), list(groups)
    wanted = dict(permission_sets or {})
    held = [a for p in people for a in p.assignments] + [a for g in groups for a in g.assignments]
    for _account, name in held:
        wanted.setdefault(name, f"{name} access")
    for name, description in wanted.items():
        directory.permission_sets[name] = admin.create_permission_set(
            InstanceArn=directory.instance_arn, Name=name,
            Description=description)["PermissionSet"]["PermissionSetArn"]
    for person in people:
        given, _, family = (person.display_name or person.user_name).partition(" ")
        directory.user_ids[person.user_name] = store.create_user(
            IdentityStoreId=directory.identity_store_id, UserName=person.user_name,
            DisplayName=person.display_name or person.user_name,
            Name={"GivenName": given, "FamilyName": family or given},
            Emails=[{"Value": person.email, "Type": "work", "Primary": True}])["UserId"]
    for group in groups:
        group_id = store.create_group(IdentityStoreId=directory.identity_store_id,
                                      DisplayName=group.name)["GroupId"]
        directory.group_ids[group.name] = group_id
        for member in group.members:
            store.create_group_membership(IdentityStoreId=directory.identity_store_id,
                                          GroupId=group_id,
                                          MemberId={"UserId": directory.user_ids[member]})
    holders = [("USER", directory.user_ids[p.user_name], p.assignments) for p in people]
    holders += [("GROUP", directory.group_ids[g.name], g.assignments) for g in groups]
    for principal_type, principal_id, assignments in holders:
        for account_id, name in assignments:
            admin.create_account_assignment(
                InstanceArn=directory.instance_arn, TargetId=account_id,
                TargetType="AWS_ACCOUNT", PermissionSetArn=directory.permission_sets[name],
                PrincipalType=principal_type, PrincipalId=principal_id)
    return directory
