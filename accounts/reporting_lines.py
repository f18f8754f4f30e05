"""Who reports to whom: the manager links must never loop (a -> b -> c -> a).

A loop would make each person in it the manager of their own manager: the one who decides
their exception requests (DESIGN.md "Exceptions") and who sees their keys would be
themselves, one step removed. Both the import (a whole file at once, together with the
people already stored) and single edits (the admin) are checked.
"""

from collections.abc import Mapping


def manager_cycles(manager_of: Mapping[str, str | None]) -> list[list[str]]:
    """Every loop in ``manager_of`` (e-mail -> manager's e-mail or None), each once.

    A loop is the people in it in reporting order, starting from the smallest e-mail and
    ending with it again: ``["a@x", "b@x", "c@x", "a@x"]``. A person who is their own
    manager is the loop ``["a@x", "a@x"]``. Managers missing from the map end a chain.
    """
    done: set[str] = set()
    cycles = []
    for start in sorted(manager_of):
        path: list[str] = []
        on_path: dict[str, int] = {}
        person: str | None = start
        while person is not None and person not in done and person not in on_path:
            on_path[person] = len(path)
            path.append(person)
            person = manager_of.get(person)
        if person is not None and person in on_path:
            loop = path[on_path[person]:]
            first = loop.index(min(loop))
            loop = loop[first:] + loop[:first]
            cycles.append(loop + [loop[0]])
        done.update(path)
    return cycles


def manager_cycle(person, manager) -> list[str]:
    """The loop that making ``manager`` the manager of ``person`` would close, or [].

    Read from the database as it is now (``person``'s own row excepted): ``[person, manager,
    manager's manager, ..., person]`` by e-mail.
    """
    if manager is None:
        return []
    if person.pk is not None and manager.pk == person.pk:
        return [person.email, person.email]
    chain = [person.email, manager.email]
    seen = {manager.pk}
    manager_id = manager.manager_id
    while manager_id is not None and manager_id not in seen:
        if manager_id == person.pk:
            return chain + [person.email]
        seen.add(manager_id)
        row = type(person).objects.filter(pk=manager_id).values_list("email", "manager_id").first()
        if row is None:
            return []
        chain.append(row[0])
        manager_id = row[1]
    return []


def describe_cycle(loop: list[str]) -> str:
    """``a@x -> b@x -> a@x``, or ``a@x is their own manager``."""
    if len(loop) == 2:
        return f"{loop[0]} is their own manager"
    return " -> ".join(loop)
