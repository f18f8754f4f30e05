"""Who owns a key, resolved in DESIGN.md's order, and why nobody does when nobody does.

(1) an owner assigned in Keyledger (by the security team, or by registering the key's
purpose); (2) an IAM user tag whose key is one of KEYLEDGER_OWNER_TAG_KEYS and whose value is
the e-mail of an active person; (3) nobody: a gap, with the reason the UI shows.
"""

from dataclasses import dataclass

MAX_SHOWN = 80  # tag values are untrusted and unbounded: show a bounded, quoted excerpt


@dataclass(frozen=True)
class PersonRef:
    id: int
    email: str
    is_active: bool


@dataclass(frozen=True)
class Ownership:
    owner: PersonRef | None
    gap: str = ""


def _shown(value: str) -> str:
    value = value.strip()
    return repr(value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…")


def resolve_owner(*, assigned: PersonRef | None, tags: dict, tag_keys: list[str],
                  people_by_email: dict[str, PersonRef]) -> Ownership:
    """The owner of a key given its assignment, its IAM user's tags and the known people."""
    gaps = []
    if assigned is not None:
        if assigned.is_active:
            return Ownership(assigned)
        gaps.append(f"assigned owner {assigned.email} has left")
    tagged = [(k, str(tags[k])) for k in tag_keys if k in tags]
    for tag_key, value in tagged:
        person = people_by_email.get(value.strip().lower())
        if person is not None and person.is_active:
            return Ownership(person)
        if person is not None:
            gaps.append(f"owner {person.email} (tag {tag_key}) has left")
        else:
            gaps.append(f"tag {tag_key} names {_shown(value)}, who is not a known person")
    if not gaps:
        gaps.append(f"no owner assigned and no owner tag ({', '.join(tag_keys)})")
    return Ownership(None, "; ".join(gaps))
