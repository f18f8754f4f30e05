"""Import people from the CSV format DESIGN.md fixes: ``email,name,manager_email,roles,active``.

Re-running updates people in place (matched by e-mail, case-insensitively) and never
duplicates. The whole file is validated before anything is written, so a bad row leaves the
database as it was.
"""

import csv
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .models import Person
from .roles import Role
from .signals import people_changed

PEOPLE_CSV_HEADER = ["email", "name", "manager_email", "roles", "active"]
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class PersonRow:
    email: str
    name: str
    manager_email: str
    roles: frozenset[str]
    active: bool


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


class PeopleImportError(ValueError):
    """The file cannot be imported; the message names the line and the problem."""


def parse_people_csv(lines) -> list[PersonRow]:
    """Rows of a people CSV, or PeopleImportError naming every bad line."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or [h.strip() for h in reader.fieldnames] != PEOPLE_CSV_HEADER:
        raise PeopleImportError(f"the header must be exactly: {','.join(PEOPLE_CSV_HEADER)}")
    rows, errors, seen = [], [], set()
    valid_roles = {role.value for role in Role}
    for line_no, raw in enumerate(reader, start=2):
        if None in raw or any(value is None for value in raw.values()):
            errors.append(f"line {line_no}: expected {len(PEOPLE_CSV_HEADER)} columns")
            continue
        email = raw["email"].strip().lower()
        manager_email = raw["manager_email"].strip().lower()
        roles = frozenset(raw["roles"].split())
        active = _BOOLEANS.get(raw["active"].strip().lower())
        problems = []
        for label, value in (("email", email), ("manager_email", manager_email)):
            if value or label == "email":
                try:
                    validate_email(value)
                except ValidationError:
                    problems.append(f"{label} {value!r} is not an e-mail address")
        if roles - valid_roles:
            problems.append(f"unknown roles {sorted(roles - valid_roles)}; use security, manager")
        if active is None:
            problems.append(f"active must be true or false, not {raw['active']!r}")
        if email in seen:
            problems.append(f"{email} appears twice")
        if email and email == manager_email:
            problems.append("a person cannot be their own manager")
        seen.add(email)
        if problems:
            errors.append(f"line {line_no}: " + "; ".join(problems))
            continue
        rows.append(PersonRow(email, raw["name"].strip()[:200], manager_email, roles, active))
    if errors:
        raise PeopleImportError("\n".join(errors))
    return rows


@transaction.atomic
def people_import(*, rows: list[PersonRow]) -> ImportResult:
    """Create or update every person in ``rows``, then link managers and set role groups."""
    existing = {p.email.lower(): p for p in Person.objects.prefetch_related("groups")}
    known = set(existing) | {row.email for row in rows}
    missing = sorted({r.manager_email for r in rows if r.manager_email} - known)
    if missing:
        raise PeopleImportError(f"unknown manager e-mails: {', '.join(missing)}")
    groups = {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    created, changed = set(), set()
    for row in rows:
        person = existing.get(row.email)
        if person is None:
            existing[row.email] = Person.objects.create_user(
                row.email, name=row.name, is_active=row.active
            )
            created.add(row.email)
        elif (person.name, person.is_active) != (row.name, row.active):
            person.name, person.is_active = row.name, row.active
            person.save(update_fields=["name", "is_active"])
            changed.add(row.email)
    for row in rows:
        person = existing[row.email]
        manager = existing.get(row.manager_email)
        if person.manager_id != (manager.pk if manager else None):
            person.manager = manager
            person.save(update_fields=["manager"])
            changed.add(row.email)
        current = {g.name for g in person.groups.all()} & set(groups)
        if current != set(row.roles):
            person.groups.remove(*[groups[name] for name in current - row.roles])
            person.groups.add(*[groups[name] for name in row.roles - current])
            changed.add(row.email)
    updated = len(changed - created)
    if created or changed:
        people_changed.send(sender=Person, emails=sorted(created | changed))
    return ImportResult(created=len(created), updated=updated,
                        unchanged=len(rows) - len(created) - updated)
