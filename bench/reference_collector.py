"""The usual way to gather IAM key data, as a yardstick for Keyledger's collector.

Many audit scripts and tools walk IAM per user: ListUsers, then for each user ListAccessKeys,
GetAccessKeyLastUsed per key, ListUserTags, ListAttachedUserPolicies, ListUserPolicies and
GetUserPolicy for each inline policy, ListGroupsForUser; and for each group its
ListAttachedGroupPolicies, ListGroupPolicies and GetGroupPolicy. This module does exactly
that (paginating every list call), through the same counted, latency-hooked sessions as
Keyledger, so the two are compared call for call on the same data.

To be fair to it, each group's policies are read once per account, not once per member, and
AWS-managed policy documents, the credential report and CloudTrail are not read at all:
it gathers less than Keyledger does, with more calls.
"""

from dataclasses import dataclass

from governance.aws.session import AccountSession


@dataclass(frozen=True)
class ReferenceResult:
    users: int
    keys: int
    inline_policies: int
    groups: int


def _pages(client, operation: str, result_key: str, **params) -> list:
    items = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(result_key, []))
    return items


def collect_per_user(session: AccountSession) -> ReferenceResult:
    """Read every user's keys, last use, tags and policies the per-user way."""
    iam = session.client("iam")
    keys = inline = 0
    groups_read: dict[str, tuple] = {}
    users = _pages(iam, "list_users", "Users")
    for user in users:
        name = user["UserName"]
        for key in _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name):
            iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
            keys += 1
        _pages(iam, "list_user_tags", "Tags", UserName=name)
        _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)
        for policy in _pages(iam, "list_user_policies", "PolicyNames", UserName=name):
            iam.get_user_policy(UserName=name, PolicyName=policy)
            inline += 1
        for group in _pages(iam, "list_groups_for_user", "Groups", UserName=name):
            group_name = group["GroupName"]
            if group_name not in groups_read:
                groups_read[group_name] = _group_policies(iam, group_name)
    return ReferenceResult(users=len(users), keys=keys, inline_policies=inline,
                           groups=len(groups_read))


def _group_policies(iam, group_name: str) -> tuple:
    attached = _pages(iam, "list_attached_group_policies", "AttachedPolicies",
                      GroupName=group_name)
    documents = [iam.get_group_policy(GroupName=group_name, PolicyName=policy)["PolicyDocument"]
                 for policy in _pages(iam, "list_group_policies", "PolicyNames",
                                      GroupName=group_name)]
    return tuple(attached), tuple(documents)
