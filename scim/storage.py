"""scim2-server's storage, backed by Keyledger's people and groups.

scim2-server does the protocol (validation, PATCH, filters, ETags, errors); this class turns
people and groups into SCIM resources and back, and writes through ``scim.services``. The
directory is small (hundreds to a few thousand people), so a search evaluates the filter on
every resource in Python with scim2-models' own matcher, the same one scim2-server's
in-memory storage uses, and every filter the RFC allows works.
"""

import hashlib
import json
from typing import Union

from django.contrib.auth.models import Group as DjangoGroup
from django.db.models import Prefetch
from scim2_models import (
    InvalidValueException,
    Meta,
    NotFoundException,
    PreconditionFailedException,
    ScimFilter,
    UniquenessException,
)
from scim2_server.storage import ScimStorage, SearchPage
from scim2_server.utils import parametrize

from accounts.models import Person

from .resources import (
    ENTERPRISE,
    EnterpriseUser,
    Group,
    Manager,
    Member,
    Name,
    PersonEmail,
    User,
)
from .services import (
    DirectoryRefusal,
    PersonRecord,
    directory_group_delete,
    directory_group_save,
    directory_person_delete,
    directory_person_save,
)

REFUSALS = {"uniqueness": UniquenessException, "invalid_value": InvalidValueException,
            "not_found": NotFoundException}


def _version(resource) -> str:
    body = resource.model_dump(exclude={"meta"}, mode="json")
    return 'W/"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20] + '"'


def _with_meta(resource, kind: str, created, modified):
    resource.meta = Meta(resource_type=kind, created=created,
                         last_modified=max(created, modified), version=_version(resource))
    return resource


def _directory(person: Person):
    """The person's DirectoryPerson row, or None (people from import_people or the admin)."""
    return getattr(person, "directory", None)


def user_resource(person: Person) -> User:
    """The person as a SCIM User (what the directory sent, where it sent it)."""
    link = _directory(person)
    if link is None:
        emails = [{"value": person.email, "type": "work", "primary": True}]
        name, display, user_name, external_id = None, person.name, person.email, None
    else:
        emails = link.emails
        parts = {"formatted": link.formatted_name, "given_name": link.given_name,
                 "family_name": link.family_name}
        name = Name(**{k: v for k, v in parts.items() if v}) if any(parts.values()) else None
        display, user_name, external_id = link.display_name, link.user_name, link.external_id
    resource = User[EnterpriseUser](
        id=str(person.pk), user_name=user_name, external_id=external_id or None, name=name,
        display_name=display or None,
        emails=[PersonEmail.model_validate(e) for e in emails] or None,
        active=person.is_active if link is None or link.sends_active or not person.is_active
        else None)
    if person.manager_id:
        manager = Manager.model_validate({"value": str(person.manager_id),
                                          "$ref": f"Users/{person.manager_id}"})
        resource[EnterpriseUser] = EnterpriseUser(schemas=[ENTERPRISE], manager=manager)
    return _with_meta(resource, "User", person.date_joined,
                      link.updated_at if link else person.date_joined)


def group_resource(group: DjangoGroup) -> Group:
    members = [Member.model_validate({"value": str(p.pk), "$ref": f"Users/{p.pk}",
                                      "type": Member.Type.user})
               for p in group.user_set.all() if _visible(p)]
    link = group.directory  # the reverse one-to-one
    resource = Group(id=str(group.pk), display_name=group.name,
                     external_id=link.external_id or None, members=members or None)
    return _with_meta(resource, "Group", link.created_at, link.updated_at)


def _visible(person: Person) -> bool:
    link = _directory(person)
    return link is None or link.deleted_at is None


def _record(resource) -> PersonRecord:
    """What Keyledger keeps of a User resource."""
    name = resource.name or Name()
    extension = resource[EnterpriseUser]
    manager = extension.manager if extension is not None else None
    manager_value = (manager.value or "").strip() if manager is not None else ""
    if manager_value and not manager_value.isdigit():
        raise InvalidValueException(detail=f"manager {manager_value!r} is not a user id")
    emails = tuple(e.model_dump(mode="json", exclude_none=True) for e in resource.emails or ())
    return PersonRecord(
        user_name=(resource.user_name or "").strip(), external_id=resource.external_id or "",
        given_name=name.given_name or "", family_name=name.family_name or "",
        formatted_name=name.formatted or "", display_name=resource.display_name or "",
        emails=emails, active=resource.active is not False,
        sends_active=resource.active is not None,
        manager_id=int(manager_value) if manager_value else None)


class DirectoryStorage(ScimStorage):
    """Users are people (id: the person's id); Groups are the directory's Django groups."""

    def _people(self):
        return (Person.objects.select_related("manager", "directory")
                .filter(directory__deleted_at__isnull=True) |
                Person.objects.select_related("manager", "directory")
                .filter(directory__isnull=True)).order_by("pk")

    def _groups(self):
        return (DjangoGroup.objects.filter(directory__isnull=False).select_related("directory")
                .prefetch_related(Prefetch("user_set", queryset=Person.objects.select_related(
                    "directory").order_by("pk"))).order_by("pk"))

    def _person(self, resource_id: str) -> Person:
        person = self._people().filter(pk=int(resource_id)).first() \
            if str(resource_id).isdigit() else None
        if person is None:
            raise NotFoundException(detail=f"no user {resource_id}")
        return person

    def _group(self, resource_id: str) -> DjangoGroup:
        group = self._groups().filter(pk=int(resource_id)).first() \
            if str(resource_id).isdigit() else None
        if group is None:
            raise NotFoundException(detail=f"no group {resource_id}")
        return group

    def _resource(self, kind: str, resource_id: str):
        if kind == "User":
            return user_resource(self._person(resource_id))
        return group_resource(self._group(resource_id))

    @staticmethod
    def _check_version(resource, expected_version):
        if expected_version is not None and resource.meta.version != expected_version:
            raise PreconditionFailedException()

    def get(self, resource_type, resource_id, *, response_parameters=None):
        return self._resource(resource_type.name, resource_id)

    def search(self, resource_types, search_request, *, position=None):
        names = {resource_type.name for resource_type in resource_types}
        found = ([user_resource(p) for p in self._people()] if "User" in names else []) + \
            ([group_resource(g) for g in self._groups()] if "Group" in names else [])
        scim_filter = search_request.filter
        if scim_filter is not None and not scim_filter.models and found:
            models = tuple(dict.fromkeys(type(r) for r in found))
            scim_filter = parametrize(ScimFilter, Union[models])(str(scim_filter))  # noqa: UP007
        matching = [r for r in found if scim_filter is None or scim_filter.match(r)]
        # Index pagination in id order (sorting and cursors are not announced).
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(total=len(matching), resources=matching[start:stop])

    def create(self, resource_type, resource):
        try:
            if resource_type.name == "User":
                return user_resource(directory_person_save(record=_record(resource)))
            group = directory_group_save(name=resource.display_name or "",
                                         external_id=resource.external_id or "",
                                         member_ids=self._member_ids(resource))
        except DirectoryRefusal as exc:
            raise REFUSALS[exc.kind](detail=str(exc)) from None
        return group_resource(self._group(str(group.pk)))

    def update(self, resource_type, resource, *, expected_version=None):
        stored = self._resource(resource_type.name, resource.id)
        self._check_version(stored, expected_version)
        try:
            if resource_type.name == "User":
                person = directory_person_save(record=_record(resource),
                                               person=self._person(resource.id))
                return user_resource(self._person(str(person.pk)))
            group = directory_group_save(name=resource.display_name or "",
                                         external_id=resource.external_id or "",
                                         member_ids=self._member_ids(resource),
                                         group=self._group(resource.id))
        except DirectoryRefusal as exc:
            raise REFUSALS[exc.kind](detail=str(exc)) from None
        return group_resource(self._group(str(group.pk)))

    def delete(self, resource_type, resource_id, *, expected_version=None):
        self._check_version(self._resource(resource_type.name, resource_id), expected_version)
        if resource_type.name == "User":
            directory_person_delete(person=self._person(resource_id))
        else:
            directory_group_delete(group=self._group(resource_id))

    @staticmethod
    def _member_ids(resource) -> list[int]:
        ids = []
        for member in resource.members or ():
            value = (member.value or "").strip()
            if not value.isdigit():
                raise InvalidValueException(detail=f"member {value!r} is not a user id")
            ids.append(int(value))
        return ids


