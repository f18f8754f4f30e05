"""Roles from the organization's directory: the identity provider's group names, as the
OpenID groups claim carries them at sign-in and as SCIM pushes them (issue 15).

``KEYLEDGER_OIDC_SECURITY_GROUPS`` and ``KEYLEDGER_OIDC_MANAGER_GROUPS`` name the provider's
groups that make a person a member of the security team or a manager. Both paths read the
same two settings, so a person's role is the same however the directory told Keyledger.
When neither is set the directory does not manage roles, and the roles given in Keyledger
(admin, ``import_people``) stay as they are.
"""

from django.conf import settings

from .roles import Role


def directory_manages_roles() -> bool:
    return bool(settings.KEYLEDGER_OIDC_SECURITY_GROUPS or settings.KEYLEDGER_OIDC_MANAGER_GROUPS)


def roles_for_groups(group_names) -> set[str]:
    """The role names (``security``, ``manager``) the directory's ``group_names`` give.

    Compared case-insensitively: providers differ in how they spell a group's name.
    """
    names = {str(name).strip().lower() for name in group_names or ()}
    mapping = ((Role.SECURITY, settings.KEYLEDGER_OIDC_SECURITY_GROUPS),
               (Role.MANAGER, settings.KEYLEDGER_OIDC_MANAGER_GROUPS))
    return {role.value for role, groups in mapping
            if names & {group.strip().lower() for group in groups}}
