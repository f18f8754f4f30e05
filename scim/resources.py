"""The SCIM resources Keyledger publishes: only the attributes it stores (every published
attribute is round-tripped by scim2-tester, and a provider may rely on any of them).

User: ``userName``, ``externalId``, ``name`` (formatted, givenName, familyName),
``displayName``, ``emails``, ``active`` and the enterprise extension's ``manager``.
Group: ``displayName``, ``externalId``, ``members``. The schema URNs are the standard ones,
so Okta, Entra ID and IAM Identity Center map onto them unchanged.
"""

from typing import Annotated, Union

from pydantic import EmailStr, Field
from scim2_models import (
    URN,
    ComplexAttribute,
    Email,
    ExtensibleStringEnum,
    Extension,
    Mutability,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Uniqueness,
)
from scim2_models.resources.resource import AnyExtension

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_RESULTS = 200


class Name(ComplexAttribute):
    formatted: str | None = None
    family_name: str | None = None
    given_name: str | None = None


class PersonEmail(ComplexAttribute):
    value: EmailStr | None = None
    type: Email.Type | None = None
    primary: bool | None = None


class User(Resource[AnyExtension]):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Name | None = None
    display_name: str | None = None
    emails: list[PersonEmail] | None = None
    active: bool | None = None


class Manager(ComplexAttribute):
    """The manager's SCIM id (Keyledger resolves it to a person) and its URL."""

    value: Annotated[str | None, Required.true] = None
    ref: Annotated[Reference["User"] | None, Required.false] = Field(
        None, serialization_alias="$ref", validation_alias="$ref")


class EnterpriseUser(Extension):
    __schema__ = URN(ENTERPRISE)

    manager: Manager | None = None


class Member(ComplexAttribute):
    """A group member as RFC 7643 §8.7.1 defines it: id, URL and type (no display). Members
    are people: Keyledger does not nest groups."""

    class Type(ExtensibleStringEnum):
        user = "User"

    value: Annotated[str | None, Mutability.immutable] = None
    ref: Annotated[Reference[Union["User", "Group"]] | None,  # noqa: UP007
                   Mutability.immutable] = Field(None, serialization_alias="$ref",
                                                 validation_alias="$ref")
    type: Annotated[Type | None, Mutability.immutable] = None


class Group(Resource):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    members: list[Member] | None = None


def service_provider_config() -> ServiceProviderConfig:
    """PATCH, filters (``eq`` on any attribute; ``userName`` and ``externalId`` are what
    providers use), index pagination and ETags; no bulk, sorting or password changes."""
    return ServiceProviderConfig.model_validate({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/keyledger/keyledger/blob/main/docs/SSO.md",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "A SCIM token from `manage.py create_scim_token`.",
            "primary": True}],
    })


def scim_provider() -> ScimProvider:
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[ResourceType.from_resource(User[EnterpriseUser]),
                        ResourceType.from_resource(Group)],
        config=service_provider_config(),
        # Real providers send more than Keyledger keeps (phone numbers, titles, Okta's
        # password): dropped, not refused. Entra's PATCH habits (a remove carrying a value, a
        # replace whose filter matches nothing yet) are taken as Entra means them.
        policy=ScimPolicy(unknown=ScimPolicy.Unknown.ignore,
                          remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                          unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create))
