"""Rotation: from what the evaluation stores, so every page counts the same keys.

A key is ``overdue`` when it has an open ``ROTATION_OVERDUE`` finding no exception covers,
``excepted`` when an approved exception covers that finding, and ``due`` with an open
``ROTATION_DUE``. The evaluation writes a key's open, not excepted codes (``open_codes``)
with its findings, so the overview's tile, the rotation page and the inventory's
``?finding=ROTATION_OVERDUE`` (an open, not excepted finding) count the same keys. These
conditions read that column and the few covered findings, so they cost nothing to add to a
pass over the keys: joining every open rotation finding to its key cost the overview ~80 ms
at 100,000 keys.
"""

from functools import reduce
from operator import or_

from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When

from ..models import AccessKey, Finding

OVERDUE, DUE = "ROTATION_OVERDUE", "ROTATION_DUE"
ROTATION_STATES = ("overdue", "excepted", "due")


def _covered_overdue():
    return Finding.objects.filter(code=OVERDUE, resolved_at__isnull=True,
                                  exception__isnull=False)


def rotation_states() -> dict[str, Q]:
    """The condition on a key for each of ``ROTATION_STATES``."""
    conditions = (Q(open_codes__contains=OVERDUE), Q(pk__in=_covered_overdue().values("key_id")),
                  Q(open_codes__contains=DUE))
    return dict(zip(ROTATION_STATES, conditions, strict=True))


def rotation_state_counts() -> dict[str, Count]:
    """Keys per state, as aggregates to count over a queryset of keys."""
    return {state: Count("pk", filter=q) for state, q in rotation_states().items()}


def rotation_by_account(keys) -> list[dict]:
    """Per account, its active keys among ``keys`` by state: ``overdue``, ``excepted``,
    ``due``, ``fine`` (none of those) and ``unknown`` (no creation date), with the account's
    ``account__pk``, ``account__name`` and ``account__account_id``; by account name."""
    some_state = reduce(or_, rotation_states().values())
    return list(keys.filter(status=AccessKey.Status.ACTIVE)
                .values("account__pk", "account__name", "account__account_id")
                .annotate(**rotation_state_counts(),
                          fine=Count("pk", filter=~some_state & Q(created_at__isnull=False)),
                          unknown=Count("pk", filter=Q(created_at__isnull=True)))
                .order_by("account__name", "account__account_id"))


def rotation_totals(by_account: list[dict]) -> dict[str, int]:
    """The states summed over ``rotation_by_account``'s rows."""
    return {state: sum(row[state] for row in by_account) for state in ROTATION_STATES}


def rotation_listing(keys):
    """The active ones of ``keys`` in a state, oldest first, with account, user and owner;
    each has ``rotation_state`` and ``excepted_until`` (the last day an approved exception
    covers it; None when none does)."""
    states = rotation_states()
    covering = _covered_overdue().filter(key=OuterRef("pk")).values("exception__expires_on")
    return (keys.filter(reduce(or_, states.values()), status=AccessKey.Status.ACTIVE)
            .annotate(rotation_state=Case(*(When(q, then=Value(state))
                                            for state, q in states.items())),
                      excepted_until=Subquery(covering[:1]))
            .select_related("account", "user", "owner").order_by("created_at", "pk"))
