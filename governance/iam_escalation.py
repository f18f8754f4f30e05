"""``PRIVILEGE_ESCALATION``: a user that is not admin but may make itself one.

The known paths are DESIGN.md's list: an IAM action that changes what a principal may do
(attach or write a policy, join a group, make a policy version default, change a role's
trust, mint a key or a console password), or ``iam:PassRole`` together with a service action
that runs code as the role passed. Each must be allowed on every resource (``Resource "*"``,
or a ``NotResource``: every resource but a few), by name or by wildcard (``iam:Put*``,
``iam:*``, a ``NotAction`` that does not exclude it). Like ``ADMIN_PRIVILEGE``, a Condition
does not lift a grant, except one that confines it to calls AWS makes for the user; only an
unconditional Deny on every resource removes an action.

Resources narrower than ``*`` (``arn:aws:iam::*:role/*``) are not counted: DESIGN.md draws
the line at ``*``, and a scoped grant is a question of what lies in the scope.
"""

from __future__ import annotations

from collections.abc import Sequence

from .iam_statements import Statement

IAM_ALL = "iam:*"
# Each alone lets the user grant itself (or a principal it controls) more.
ESCALATION_ACTIONS = (
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:AddUserToGroup",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
)
PASS_ROLE = "iam:PassRole"
# With iam:PassRole, each runs code as a role the user picks.
PASS_ROLE_PARTNERS = (
    "ec2:RunInstances",
    "lambda:CreateFunction",
    "cloudformation:CreateStack",
    "glue:CreateDevEndpoint",
    "datapipeline:CreatePipeline",
    "ecs:RunTask",
    "sagemaker:CreateNotebookInstance",
    "codebuild:CreateProject",
)


def _denied(found: Sequence[Statement], action: str) -> bool:
    return any(st.effect == "deny" and not st.conditional and st.all_resources
               and st.matches_action(action) for st in found)


def allowed_by(found: Sequence[Statement], action: str) -> Statement | None:
    """The first Allow that grants ``action`` on every resource, unless a Deny removes it."""
    if _denied(found, action):
        return None
    return next((st for st in found
                 if st.effect == "allow" and not st.service_only and st.resource_wide
                 and not st.grants_nothing and st.matches_action(action)), None)


def escalation_paths(found: Sequence[Statement]) -> list[tuple[str, tuple[Statement, ...]]]:
    """Every known path to admin these statements allow, in DESIGN.md's order, each with
    the statements that grant it; ``iam:*`` stands for the IAM actions it grants."""
    paths: dict[str, tuple[Statement, ...]] = {}
    for action in ESCALATION_ACTIONS:
        st = allowed_by(found, action)
        if st is not None:
            paths.setdefault(IAM_ALL if st.covers_pattern(IAM_ALL) else action, (st,))
    pass_role = allowed_by(found, PASS_ROLE)
    if pass_role is not None:
        for partner in PASS_ROLE_PARTNERS:
            st = allowed_by(found, partner)
            if st is not None:
                paths.setdefault(f"{PASS_ROLE} with {partner}", (pass_role, st))
    return list(paths.items())


def escalation_reason(found: Sequence[Statement]) -> str:
    """"" when no path is allowed; else the first path and the policies granting it."""
    paths = escalation_paths(found)
    if not paths:
        return ""
    path, granting = paths[0]
    labels = list(dict.fromkeys(st.policy.label for st in granting))
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"can make itself admin: {path}, from {' and '.join(labels)}{more}"
