"""Import people from the CSV format DESIGN.md fixes: ``email,name,manager_email,roles,active``.

Re-running updates people in place (matched by e-mail, case-insensitively) and never
duplicates. The whole file is validated before anything is written, so a bad file leaves the
database as it was and the error names each bad line: a value that is not UTF-8, holds a
control character (NUL included, which PostgreSQL cannot store) or is malformed, and manager
links that loop, counting the people already stored. Every change goes through the audited
services of ``accounts.services`` (``person_provision``, which SCIM writes through too).
"""

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass
from typing import cast

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .identity import normalise_email
from .models import Person
from .reporting_lines import describe_cycle, manager_cycles
from .roles import Role
from .services import person_provision
from .signals import people_changed

PEOPLE_CSV_HEADER = ["email", "name", "manager_email", "roles", "active"]
_BOOLEANS = {"true": True, "false": False}
VIA = "import_people"
# Characters no field may hold: controls (C0, C1, DEL; tab and line breaks too: every value
# is one line), line and paragraph separators, and the bidirectional overrides that make a
# name display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # what "surrogateescape" turns undecodable bytes into


@dataclass(frozen=True)
class PersonRow:
    email: str
    name: str
    manager_email: str
    roles: frozenset[str]
    active: bool
    line: int = 0


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


class PeopleImportError(ValueError):
    """The file cannot be imported; the message names the line and the problem."""


def decode_people_csv(data: bytes) -> io.StringIO:
    """The file's text, for ``parse_people_csv``; a UTF-8 byte-order mark is dropped.

    Bytes that are not UTF-8 (a lone surrogate's encoding among them) are kept as escapes,
    so that the parser names the line they are on instead of the whole file failing.
    """
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8", "surrogateescape")
    return io.StringIO(text, newline="")


def unreadable(value: str) -> str:
    """Why ``value`` cannot be stored as typed ('' when it can)."""
    for position, char in enumerate(value):
        code = ord(char)
        if code in _ESCAPED_BYTES:
            return f"is not UTF-8 text (byte 0x{code - 0xDC00:02X} at character {position + 1})"
        category = unicodedata.category(char)
        if category == "Cs":
            return f"holds a lone surrogate (U+{code:04X})"
        if category in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS:
            return f"holds a control character (U+{code:04X} at character {position + 1})"
    return ""


def parse_people_csv(lines) -> list[PersonRow]:
    """Rows of a people CSV, or PeopleImportError naming every bad line.

    A line number is where the record starts (a quoted value may span lines).
    """
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise PeopleImportError(f"line 1: {exc}") from None
    if header is None or [h.strip() for h in header] != PEOPLE_CSV_HEADER:
        raise PeopleImportError(f"the header must be exactly: {','.join(PEOPLE_CSV_HEADER)}")
    rows: list[PersonRow] = []
    errors: list[str] = []
    seen: set[str] = set()
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"line {line}: {exc}")
            break
        if not values:  # a blank line
            continue
        row, problems = _row(values, line, seen)
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
        else:
            rows.append(cast(PersonRow, row))  # _row gives a row whenever it finds no problem
    if errors:
        raise PeopleImportError("\n".join(errors))
    return rows


def _row(values: list[str], line: int, seen: set) -> tuple[PersonRow | None, list[str]]:
    """One record as a PersonRow, or the problems with it."""
    if len(values) != len(PEOPLE_CSV_HEADER):
        return None, [f"expected {len(PEOPLE_CSV_HEADER)} columns, found {len(values)}"]
    raw = dict(zip(PEOPLE_CSV_HEADER, values, strict=True))
    problems = [f"{label} {why}" for label in PEOPLE_CSV_HEADER
                if (why := unreadable(raw[label]))]
    if problems:
        return None, problems
    email = normalise_email(raw["email"])
    manager_email = normalise_email(raw["manager_email"])
    roles = frozenset(raw["roles"].split())
    active = _BOOLEANS.get(raw["active"].strip().lower())
    for label, value in (("email", email), ("manager_email", manager_email)):
        if value or label == "email":
            try:
                validate_email(value)
            except ValidationError:
                problems.append(f"{label} {value!r} is not an e-mail address")
    valid_roles = {role.value for role in Role}
    if roles - valid_roles:
        problems.append(f"unknown roles {sorted(roles - valid_roles)}; use security, manager")
    if active is None:
        problems.append(f"active must be true or false, not {raw['active']!r}")
    if email in seen:
        problems.append(f"{email} appears twice")
    if email and email == manager_email:
        problems.append("a person cannot be their own manager")
    seen.add(email)
    # ``active`` is None only alongside its problem, when the caller discards the row.
    row = PersonRow(email, raw["name"].strip()[:200], manager_email, roles, cast(bool, active),
                    line)
    return row, problems


def _refuse_manager_loops(rows: list[PersonRow], stored: dict[str, Person]) -> None:
    """PeopleImportError naming every loop the file's manager links would close."""
    manager_of = {email: (p.manager.email.lower() if p.manager is not None else None)
                  for email, p in stored.items()}
    manager_of.update({row.email: row.manager_email or None for row in rows})
    line_of = {row.email: row.line for row in rows}
    errors = []
    for loop in manager_cycles(manager_of):
        people = loop[:-1]
        if not any(email in line_of for email in people):
            continue  # a loop already stored, which this file does not touch
        lines = sorted(line_of[email] for email in people if email in line_of)
        outside = [email for email in people if email not in line_of]
        where = f"line {lines[0]}" if len(lines) == 1 else \
            f"lines {', '.join(map(str, lines))}"
        note = (f" ({', '.join(outside)}: as stored in Keyledger, not in this file)"
                if outside else "")
        errors.append(f"{where}: manager loop {describe_cycle(loop)}{note}")
    if errors:
        raise PeopleImportError("\n".join(errors))


def _managers_first(rows: list[PersonRow]) -> list[PersonRow]:
    """``rows`` with each person after their manager (when the manager is in the file)."""
    by_email = {row.email: row for row in rows}
    ordered: list[PersonRow] = []
    placed: set[str] = set()

    def place(row: PersonRow | None) -> None:
        chain = []
        while row is not None and row.email not in placed:
            chain.append(row)
            placed.add(row.email)
            row = by_email.get(row.manager_email)
        ordered.extend(reversed(chain))

    for row in rows:
        place(row)
    return ordered


@transaction.atomic
def people_import(*, rows: list[PersonRow], actor=None) -> ImportResult:
    """Create or update every person in ``rows``: name, manager, role groups, active.

    Managers are written before the people they manage, so no intermediate state loops.
    Each change is audited (``accounts.services``); every key is re-evaluated once at the
    end when anyone changed.
    """
    existing = {p.email.lower(): p for p in
                Person.objects.select_related("manager").prefetch_related("groups")}
    known = set(existing) | {row.email for row in rows}
    missing = sorted({r.manager_email for r in rows if r.manager_email} - known)
    if missing:
        raise PeopleImportError(f"unknown manager e-mails: {', '.join(missing)}")
    _refuse_manager_loops(rows, existing)
    roles = {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    created: set[str] = set()
    changed: set[str] = set()
    for row in _managers_first(rows):
        person = existing.get(row.email)
        manager = existing.get(row.manager_email) if row.manager_email else None
        wanted = [roles[name] for name in sorted(row.roles)]
        groups = wanted if person is None else \
            [g for g in person.groups.all() if g.name not in roles] + wanted
        if person is not None and (person.name, person.is_active, person.manager_id,
                                   {g.name for g in person.groups.all()}) == \
                (row.name, row.active, manager.pk if manager else None, {g.name for g in groups}):
            continue
        (changed if person else created).add(row.email)
        existing[row.email] = person_provision(
            actor=actor, person=person, email=person.email if person else row.email,
            name=row.name, manager=manager, is_active=row.active, groups=groups, via=VIA,
            reevaluate=False)
    if created or changed:
        people_changed.send(sender=Person, emails=sorted(created | changed))
    return ImportResult(created=len(created), updated=len(changed),
                        unchanged=len(rows) - len(created) - len(changed))
