"""Rotation: from the stored findings, so every page counts the same keys."""

from django.db.models import Count, F, FilteredRelation, Q

from ..models import AccessKey

OVERDUE, DUE = "ROTATION_OVERDUE", "ROTATION_DUE"
# A key's rotation state is its open rotation finding (the evaluation keeps at most one:
# overdue and due never fire together). An overdue key an approved exception covers is
# "excepted", not "overdue": the overview's tile, the rotation page and the inventory's
# ?finding=ROTATION_OVERDUE (open, not excepted) count the same keys.
ROTATION_STATES = {
    "overdue": Q(rotation__code=OVERDUE, rotation__exception__isnull=True),
    "excepted": Q(rotation__code=OVERDUE, rotation__exception__isnull=False),
    "due": Q(rotation__code=DUE),
}


def _with_rotation(keys):
    return keys.annotate(rotation=FilteredRelation("findings", condition=Q(
        findings__resolved_at__isnull=True, findings__code__in=(OVERDUE, DUE))))


def _state_counts() -> dict[str, Count]:
    return {state: Count("pk", filter=q) for state, q in ROTATION_STATES.items()}


def rotation_totals(keys) -> dict[str, int]:
    """How many of ``keys`` are ``overdue``, ``excepted`` and ``due``."""
    return _with_rotation(keys).filter(rotation__isnull=False).aggregate(**_state_counts())


def rotation_by_account(keys):
    """Per account, its active keys among ``keys`` by state: ``overdue``, ``excepted``,
    ``due``, ``fine`` (none of those) and ``unknown`` (no creation date), with the account's
    ``account__pk``, ``account__name`` and ``account__account_id``; by account name."""
    return (_with_rotation(keys.filter(status=AccessKey.Status.ACTIVE))
            .values("account__pk", "account__name", "account__account_id")
            .annotate(**_state_counts(),
                      fine=Count("pk", filter=Q(rotation__isnull=True, created_at__isnull=False)),
                      unknown=Count("pk", filter=Q(created_at__isnull=True)))
            .order_by("account__name", "account__account_id"))


def rotation_listing(keys):
    """Those of ``keys`` with an open rotation finding, oldest first, with account, user and
    owner; each has ``rotation_code`` and ``excepted_until`` (the last day an approved
    exception covers it; None when none does)."""
    return (_with_rotation(keys).filter(rotation__isnull=False)
            .annotate(rotation_code=F("rotation__code"),
                      excepted_until=F("rotation__exception__expires_on"))
            .select_related("account", "user", "owner").order_by("created_at", "pk"))
