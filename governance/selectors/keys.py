"""Keys: the listing rows the inventory, the API and the export share, the key page, and the
lists of owners and overseers."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery

from accounts.models import Person

from ..models import (
    AccessKey,
    AccessKeyEvent,
    AuditEvent,
    AwsAccount,
    ExceptionRequest,
    Finding,
    Registration,
    SyncRun,
)
from ..policy import ACCOUNT_CODES, Element, Severity, scorecard

LISTING_ORDER = ("account__name", "account__account_id", "user__name", "created_at", "pk")
GAP_CODES = ("NO_OWNER", "NO_PURPOSE")
VERDICT_ICONS = {"pass": "✓", "fail": "✗", "excepted": "~"}
KEY_PAGE_HISTORY = 50  # sync events and audit events shown on a key's page, newest first


@dataclass(frozen=True)
class ElementVerdict:
    element: str
    verdict: str
    reasons: tuple[str, ...]

    @property
    def letter(self) -> str:
        return self.element[:2].title()

    @property
    def icon(self) -> str:
        """The verdict as a sign, so the badge reads without its colour."""
        return VERDICT_ICONS.get(self.verdict, "?")

    @property
    def title(self) -> str:
        """The badge's tooltip: element, verdict and reasons, so a row template stays flat."""
        return " — ".join((f"{self.element.title()}: {self.verdict}", *self.reasons))


def key_scorecard(open_findings) -> list[ElementVerdict]:
    """The five elements (Purpose, Permissions, Source, Updates, Auditing) with reasons."""
    excepted = {f.code for f in open_findings if f.exception_id}
    card = scorecard(open_findings, excepted)
    return [ElementVerdict(element.value, card[element][0].value, card[element][1])
            for element in Element]


# -- listing rows ------------------------------------------------------------------------

def open_findings_prefetch() -> Prefetch:
    """Open findings of each key in one extra query, as ``key.open_findings``."""
    return Prefetch("findings", queryset=Finding.objects.filter(resolved_at__isnull=True)
                    .order_by("code"), to_attr="open_findings")


def with_export_columns(keys: QuerySet) -> QuerySet:
    """``keys`` joined with what the export needs in the same query: account, user, owner,
    and the current purpose's category as ``purpose_category``."""
    # At most one current registration per key (a constraint), so no ordering: the model's
    # default one would join the key, its account and user again for every row.
    current_purpose = Registration.objects.filter(
        key=OuterRef("pk"), superseded_at__isnull=True).order_by().values("category")[:1]
    return (keys.select_related("account", "user", "owner")
            .annotate(purpose_category=Subquery(current_purpose)))


def exportable_keys() -> QuerySet:
    """Every key still present in AWS, with the export's columns, in a stable order (the
    ``export_keys`` command: it runs with no person, as the operator)."""
    return with_export_columns(AccessKey.objects.filter(removed_at__isnull=True)).order_by(
        "account__account_id", "user__name", "created_at", "pk")


def keys_for_listing(keys: QuerySet) -> QuerySet:
    """``keys`` with account, user, owner, purpose and open findings loaded in bulk."""
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


def account_choices(person) -> list[tuple[int, str, str]]:
    """(pk, name, account id) of each account ``person`` may filter the inventory by."""
    return list(AwsAccount.objects.visible_to(person).values_list("pk", "name", "account_id"))


def key_with_id(person, access_key_id: str) -> AccessKey | None:
    """The key with this AWS access key id, if ``person`` may see it."""
    return AccessKey.objects.visible_to(person).filter(access_key_id=access_key_id).first()


def account_with_id(person, account_id: str) -> AwsAccount | None:
    """The AWS account with this 12-digit id, if Keyledger reads it and ``person`` may see
    it."""
    return AwsAccount.objects.visible_to(person).filter(account_id=account_id).first()


# -- one key -----------------------------------------------------------------------------

def current_registration(key: AccessKey) -> Registration | None:
    """The key's registration in force (at most one: a constraint), with its owner."""
    return key.registrations.filter(superseded_at__isnull=True).select_related("owner").first()


@dataclass(frozen=True)
class KeyPage:
    """What a key's page shows besides the key itself."""

    findings: list[Finding]  # every finding, open ones first, the newest first
    registration: Registration | None
    exceptions: list[ExceptionRequest]
    events: list[AccessKeyEvent]  # what syncs saw happen to it, newest first
    audit: list[AuditEvent]  # decisions about it, newest first
    last_run: SyncRun | None  # the latest sync of its account

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.resolved_at is None]

    @property
    def open_worst_first(self) -> list[Finding]:
        """The open findings, the worst first, the account's own (no audit trail) last."""
        return sorted(self.open_findings, key=lambda f: (
            f.code in ACCOUNT_CODES, -Severity(f.severity).rank(), f.code))

    def status_since(self, key: AccessKey) -> datetime | None:
        """Since when ``key`` has had its status: the last activation or deactivation a sync
        saw, else its creation for an active key (it has been active since AWS made it);
        None for a key already inactive when first seen (when it changed is unknown)."""
        changes = (AccessKeyEvent.Kind.ACTIVATED, AccessKeyEvent.Kind.DEACTIVATED)
        changed = next((e.at for e in self.events if e.kind in changes), None)
        if changed is not None:
            return changed
        return key.created_at if key.status == AccessKey.Status.ACTIVE else None

    @property
    def exposed_on(self) -> datetime | None:
        """When AWS's finding that the key is public (``KEY_EXPOSED``) opened, if it is open."""
        return next((f.opened_at for f in self.open_findings if f.code == "KEY_EXPOSED"), None)


def key_page(key: AccessKey) -> KeyPage:
    """The key's findings, registration, exceptions and history: a query each."""
    return KeyPage(
        findings=list(Finding.objects.filter(key=key).select_related("exception")
                      .order_by("resolved_at", "-opened_at")),
        registration=current_registration(key),
        exceptions=list(ExceptionRequest.objects.filter(key=key).select_related(
            "requested_by", "decided_by")),
        events=list(key.events.order_by("-at")[:KEY_PAGE_HISTORY]),
        audit=list(AuditEvent.objects.filter(object_type="AccessKey",
                                             object_id=str(key.pk))[:KEY_PAGE_HISTORY]),
        last_run=SyncRun.objects.filter(account=key.account).first(),
    )


# -- owners' and overseers' lists --------------------------------------------------------

def _present_keys_with_requests(person) -> QuerySet:
    open_requests = Prefetch("exceptions", to_attr="open_exceptions",
                             queryset=ExceptionRequest.objects.filter(
                                 status__in=ExceptionRequest.OPEN_STATUSES))
    keys = AccessKey.objects.visible_to(person).filter(removed_at__isnull=True)
    return keys_for_listing(keys).prefetch_related(open_requests).order_by(*LISTING_ORDER)


def keys_owned_by(person) -> QuerySet:
    """The keys ``person`` owns, still in AWS, as listing rows with their open exception
    requests (``key.open_exceptions``), by account and IAM user."""
    return _present_keys_with_requests(person).filter(owner=person)


def keys_of_reports(person) -> QuerySet:
    """The keys owned by the people who report to ``person``, as ``keys_owned_by``."""
    return _present_keys_with_requests(person).filter(owner__manager=person)


def keys_with_gaps(person, codes=GAP_CODES) -> QuerySet:
    """The keys ``person`` may see that are still in AWS with an open finding among
    ``codes`` (no owner, no current purpose), as listing rows, by account and IAM user."""
    gap = Finding.objects.filter(key=OuterRef("pk"), resolved_at__isnull=True, code__in=codes)
    keys = AccessKey.objects.visible_to(person).filter(Exists(gap), removed_at__isnull=True)
    return keys_for_listing(keys).order_by(*LISTING_ORDER)


def assignable_owners() -> list[Person]:
    """The people a key can be assigned to: every active person, by e-mail."""
    return list(Person.objects.filter(is_active=True).only("pk", "email", "name"))


def findings_visible_to(person) -> QuerySet:
    """Findings, open and resolved, of the keys ``person`` may see, by key and code."""
    visible = AccessKey.objects.visible_to(person).values("pk")
    return (Finding.objects.filter(key__in=visible).select_related("key")
            .order_by("key_id", "code", "-opened_at", "pk"))
