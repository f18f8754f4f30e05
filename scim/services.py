"""Every write SCIM makes, through the audited people services (``accounts.services``).

``import_people`` and SCIM share those services: a person created, renamed, given a
manager, deactivated or re-grouped is audited the same way whichever path it came by
(``via`` names the path). Deactivation, by ``active: false`` or DELETE, is a leaver:
``person_update`` ends their sessions and revokes their API tokens in the same transaction,
and their keys show in their manager's queue of keys whose owner left.

Errors are ``DirectoryRefusal`` with the SCIM ``scimType`` to answer with.
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.directory import directory_manages_roles, roles_for_groups
from accounts.identity import normalise_email
from accounts.models import Person
from accounts.roles import Role
from accounts.services import UNSET, person_provision, person_update
from core.audit import audit

from .models import DirectoryGroup, DirectoryPerson

VIA = "SCIM"


class DirectoryRefusal(Exception):
    """A write the directory asked for that Keyledger refuses; ``kind`` is ``uniqueness``,
    ``invalid_value`` or ``not_found``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class PersonRecord:
    """A user as the directory describes it (only what Keyledger keeps)."""

    user_name: str
    external_id: str = ""
    given_name: str = ""
    family_name: str = ""
    formatted_name: str = ""
    display_name: str = ""
    emails: tuple = ()
    active: bool = True
    sends_active: bool = True
    manager_id: int | None = None

    @property
    def email(self) -> str:
        """The address Keyledger knows the person by: the primary e-mail, else the first,
        else the userName when it is an address ('' when there is none)."""
        primary = [e for e in self.emails if e.get("primary")] + list(self.emails)
        for candidate in [e.get("value") for e in primary] + [self.user_name]:
            if candidate and "@" in candidate:
                return normalise_email(candidate)
        return ""

    @property
    def person_name(self) -> str:
        joined = " ".join(part for part in (self.given_name, self.family_name) if part)
        return (self.display_name or self.formatted_name or joined)[:200]


def _placeholder(record: PersonRecord) -> str:
    """An address for a user the directory sent with none (no e-mail, a userName that is
    not one): under the reserved ``.invalid`` domain, so no mail goes there, no sign-in or
    owner tag matches it, and the first real address the directory sends replaces it."""
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in record.user_name.lower())
    return f"{slug.strip('.')[:64] or 'user'}@directory.invalid"


def _manager(record: PersonRecord) -> Person | None:
    if record.manager_id is None:
        return None
    manager = Person.objects.filter(pk=record.manager_id).first()
    if manager is None:
        raise DirectoryRefusal("invalid_value", f"no user has the id {record.manager_id} "
                                                "given as manager")
    return manager


def _refusal_of(exc: ValidationError) -> DirectoryRefusal:
    errors = getattr(exc, "message_dict", {})
    if "manager" in errors:
        return DirectoryRefusal("invalid_value", "; ".join(errors["manager"]))
    if "email" in errors:
        return DirectoryRefusal("uniqueness", "another person has this e-mail address")
    return DirectoryRefusal("invalid_value", "; ".join(exc.messages))


@transaction.atomic
def directory_person_save(*, record: PersonRecord, person: Person | None = None) -> Person:
    """Create (``person`` None) or replace a person from the directory; returns them.

    A new user whose e-mail is a person Keyledger already has (from ``import_people`` or
    an earlier provisioning the provider deleted) is linked to that person, not duplicated.
    """
    email = record.email or (person.email if person else "") or _placeholder(record)
    live = DirectoryPerson.objects.filter(user_name__iexact=record.user_name,
                                          deleted_at__isnull=True)
    if person is not None:
        live = live.exclude(person=person)
    if live.exists():
        raise DirectoryRefusal("uniqueness", f"userName {record.user_name!r} is taken")
    manager = _manager(record)
    if person is None:
        person = Person.objects.filter(email__iexact=email).first()
        if person is not None and DirectoryPerson.objects.filter(
                person=person, deleted_at__isnull=True).exists():
            raise DirectoryRefusal("uniqueness", f"a user with the e-mail {email} exists")
    try:
        person = person_provision(actor=None, person=person, email=email,
                                  name=record.person_name, manager=manager,
                                  is_active=record.active, via=VIA)
    except ValidationError as exc:
        raise _refusal_of(exc) from None
    now = timezone.now()
    DirectoryPerson.objects.update_or_create(person=person, defaults={
        "user_name": record.user_name, "external_id": record.external_id,
        "given_name": record.given_name, "family_name": record.family_name,
        "formatted_name": record.formatted_name, "display_name": record.display_name,
        "emails": list(record.emails), "sends_active": record.sends_active,
        "updated_at": now, "deleted_at": None,
    }, create_defaults={
        "user_name": record.user_name, "external_id": record.external_id,
        "given_name": record.given_name, "family_name": record.family_name,
        "formatted_name": record.formatted_name, "display_name": record.display_name,
        "emails": list(record.emails), "sends_active": record.sends_active,
        "created_at": now, "updated_at": now})
    return person


@transaction.atomic
def directory_person_delete(*, person: Person) -> None:
    """The provider deleted the user: a leaver. Deactivated (sessions ended, tokens revoked,
    audited), out of every directory group (so out of the roles they gave), and hidden from
    SCIM until created again; the person row stays for the audit trail and key history."""
    directory_groups = [g for g in person.groups.all() if hasattr(g, "directory")]
    if directory_groups:
        _regroup(person, remove={g.pk for g in directory_groups})
    person_update(actor=None, person=person, is_active=False, via=f"{VIA} delete")
    DirectoryPerson.objects.filter(person=person).update(deleted_at=timezone.now(),
                                                         updated_at=timezone.now())


def _regroup(person: Person, *, add=(), remove=()) -> None:
    """Move ``person`` into / out of directory groups and, when the directory manages
    roles, give them the roles their directory groups map to; one audited update."""
    role_names = {role.value for role in Role}
    groups = {g.pk: g for g in person.groups.all() if g.pk not in set(remove)}
    groups.update({g.pk: g for g in Group.objects.filter(pk__in=list(add))})
    if directory_manages_roles():
        directory_names = [g.name for g in groups.values() if DirectoryGroup.objects.filter(
            group=g).exists()]
        groups = {pk: g for pk, g in groups.items() if g.name not in role_names}
        for name in roles_for_groups(directory_names):
            role = Group.objects.get_or_create(name=name)[0]
            groups[role.pk] = role
    person_update(actor=None, person=person, groups=list(groups.values()), via=VIA)


@transaction.atomic
def directory_group_save(*, name: str, external_id: str = "", member_ids=UNSET,
                         group: Group | None = None) -> Group:
    """Create or replace a directory group; members are person ids (``UNSET``: kept)."""
    name = name.strip()
    if not name:
        raise DirectoryRefusal("invalid_value", "a group needs a displayName")
    if name.lower() in {role.value for role in Role}:
        raise DirectoryRefusal("invalid_value", f"{name!r} is a Keyledger role's own name: "
                               "name the group otherwise and map it with "
                               "KEYLEDGER_OIDC_SECURITY_GROUPS / KEYLEDGER_OIDC_MANAGER_GROUPS")
    taken = Group.objects.filter(name__iexact=name)
    if group is not None:
        taken = taken.exclude(pk=group.pk)
    if taken.exists():
        raise DirectoryRefusal("uniqueness", f"a group is already named {name!r}")
    now = timezone.now()
    before = None
    if group is None:
        group = Group.objects.create(name=name)
        DirectoryGroup.objects.create(group=group, external_id=external_id, created_at=now,
                                      updated_at=now)
    else:
        before = {"name": group.name,
                  "external_id": DirectoryGroup.objects.get(group=group).external_id}
        group.name = name
        group.save(update_fields=["name"])
        DirectoryGroup.objects.filter(group=group).update(external_id=external_id,
                                                          updated_at=now)
    old = set(group.user_set.values_list("pk", flat=True))
    new = old if member_ids is UNSET else {int(pk) for pk in member_ids}
    found = set(Person.objects.filter(pk__in=new).values_list("pk", flat=True))
    if new - found:
        raise DirectoryRefusal("invalid_value", f"no users with the ids {sorted(new - found)}")
    after = {"name": name, "external_id": external_id, "members": sorted(new)}
    audit(actor=None, action="directory_group.create" if before is None else
          "directory_group.update", obj=group,
          summary=f"{'created' if before is None else 'updated'} directory group {name!r} "
                  f"({len(new)} member(s)) (via {VIA})",
          before=before and {**before, "members": sorted(old)}, after=after)
    renamed = before is not None and before["name"] != name
    for person in Person.objects.filter(pk__in=(old | new) if renamed else (old ^ new)):
        _regroup(person, add=[group.pk] if person.pk in new else [],
                 remove=[] if person.pk in new else [group.pk])
    return group


@transaction.atomic
def directory_group_delete(*, group: Group) -> None:
    """The provider deleted the group: its members lose it (and the roles it gave)."""
    members = list(Person.objects.filter(groups=group))
    for person in members:
        _regroup(person, remove=[group.pk])
    audit(actor=None, action="directory_group.delete", obj=group,
          summary=f"deleted directory group {group.name!r} (via {VIA})",
          before={"name": group.name, "members": sorted(p.pk for p in members)})
    group.delete()
