"""Reads the pages and the API share: scoped to the person, shaped for display.

Visibility itself lives on the querysets (``AccessKey.objects.visible_to``); these helpers
add what lists need without a query per row.
"""

from dataclasses import dataclass

from django.db.models import Count, F, FilteredRelation, Prefetch, Q

from .exports import with_export_columns
from .models import AccessKey, Finding
from .policy import Element, Verdict, scorecard


@dataclass(frozen=True)
class ElementVerdict:
    element: str
    verdict: str
    reasons: tuple[str, ...]

    @property
    def letter(self) -> str:
        return self.element[:2].title()

    @property
    def title(self) -> str:
        """The badge's tooltip: element, verdict and reasons, so a row template stays flat."""
        return " — ".join((f"{self.element.title()}: {self.verdict}", *self.reasons))


def open_findings_prefetch() -> Prefetch:
    """Open findings of each key in one extra query, as ``key.open_findings``."""
    return Prefetch("findings", queryset=Finding.objects.filter(resolved_at__isnull=True)
                    .order_by("code"), to_attr="open_findings")


def keys_for_listing(keys):
    """Keys with account, user, owner, purpose and open findings loaded in bulk."""
    return with_export_columns(keys).prefetch_related(open_findings_prefetch())


def listing_page(page):
    """Fill ``page`` (a Paginator page of key ids) with listing rows, in the page's order.

    Late row lookup: the sorted, offset query reads key ids only, then the page's 50 keys
    are loaded with their joins and subquery. Loading full rows in the offset query made a
    deep page (page 500 of 100,000 keys) build and discard 25,000 joined rows.
    """
    ids = list(page.object_list)
    rows = keys_for_listing(AccessKey.objects.filter(pk__in=ids)).in_bulk(ids)
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def key_scorecard(open_findings) -> list[ElementVerdict]:
    """The five elements (Purpose, Permissions, Source, Updates, Auditing) with reasons."""
    excepted = {f.code for f in open_findings if f.exception_id}
    card = scorecard(open_findings, excepted)
    return [ElementVerdict(element.value, card[element][0].value, card[element][1])
            for element in Element]


def visible_key_or_404(person, pk: int) -> AccessKey:
    """A key the person may see, or 404 (never 403: do not confirm that it exists)."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        keys_for_listing(AccessKey.objects.visible_to(person)).select_related("assigned_owner"),
        pk=pk)


# -- rotation: from the stored findings, so every page counts the same keys -----------------

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


__all__ = ["ROTATION_STATES", "ElementVerdict", "Verdict", "key_scorecard", "keys_for_listing",
           "listing_page", "open_findings_prefetch", "rotation_by_account", "rotation_listing",
           "rotation_totals", "visible_key_or_404"]
