"""The facts of a key's way out, gathered from the database for ``governance.way_out``.

The one place that turns stored rows (findings, the current registration, the stored
Identity Center and OIDC reads, the usage evidence of the window) into ``WayOutFacts``, so
the key page, "My keys", the API's ``way_out`` and the registration form agree. What was
never read stays ``None`` in the facts, and the verdict says so instead of guessing.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from evidence.models import KeyUsageAddress, KeyUsageDay
from governance.models import AccessKey, Finding, Registration
from governance.way_out import (
    Address,
    Assignment,
    WayOut,
    WayOutFacts,
    available_alternatives,
    recommend,
)

from .models import PATH_CHOICES, IdentityCenterPerson, MigrationPlan, OidcProviderListing

PATH_LABELS = dict(PATH_CHOICES)


@dataclass(frozen=True)
class KeyWayOut:
    """A key's way out as the pages show it: the verdict and its current plan (the open
    one, else the last one, else None)."""

    way_out: WayOut
    plan: MigrationPlan | None

    @property
    def open_plan(self) -> MigrationPlan | None:
        return self.plan if self.plan is not None and self.plan.state != "done" else None

    @property
    def path_label(self) -> str:
        return PATH_LABELS[self.way_out.path.value]


def _facts_for_keys(keys: Sequence[AccessKey], *, today: date) -> dict[int, WayOutFacts]:
    """``WayOutFacts`` per key pk, in seven queries whatever the number of keys (each key's
    account and owner are read from the key: select them with it)."""
    if not keys:
        return {}
    pks = [key.pk for key in keys]
    codes: dict[int, set[str]] = defaultdict(set)
    # Open findings, excepted or not: an exception accepts a person's key for a while; it
    # is still a person's key, with the same way out.
    for key_pk, code in Finding.objects.filter(key__in=pks, resolved_at__isnull=True) \
            .values_list("key_id", "code"):
        codes[key_pk].add(code)
    categories = dict(Registration.objects.filter(key__in=pks, superseded_at__isnull=True)
                      .order_by().values_list("key_id", "category"))
    emails = {key.pk: _owner_email(key) for key in keys}
    people = {person.email: person for person in IdentityCenterPerson.objects.filter(
        email__in={e for e in emails.values() if e}).prefetch_related("assignments")}
    listings = {listing.account_id: listing for listing in OidcProviderListing.objects.filter(
        account_id__in={key.account_id for key in keys})}
    days = settings.KEYLEDGER_EVIDENCE_DAYS
    since = today - timedelta(days=days - 1)
    key_ids = {key.access_key_id for key in keys if key.access_key_id}
    addresses: dict[str, dict[str, bool]] = defaultdict(dict)
    agents: dict[str, set[str]] = defaultdict(set)
    if key_ids:
        for key_id, address, via in KeyUsageAddress.objects.filter(
                access_key_id__in=key_ids, day__gte=since).values_list(
                "access_key_id", "address", "via_aws_service"):
            seen = addresses[key_id]
            seen[address] = seen.get(address, False) or via
        for key_id, day_agents in KeyUsageDay.objects.filter(
                access_key_id__in=key_ids, day__gte=since).values_list(
                "access_key_id", "user_agents"):
            agents[key_id].update(day_agents)
    facts = {}
    for key in keys:
        person = people.get(emails[key.pk])
        listing = listings.get(key.account_id)
        used = addresses.get(key.access_key_id or "", {})
        facts[key.pk] = WayOutFacts(
            account_id=key.account.account_id, account_name=key.account.name,
            open_codes=frozenset(codes.get(key.pk, ())),
            purpose_category=categories.get(key.pk, ""),
            owner_email=emails[key.pk],
            identity_center_user=None if person is None else bool(person.user_id),
            assignments=() if person is None else tuple(
                Assignment(a.account_id, a.permission_set_name)
                for a in person.assignments.all()),
            oidc_issuers=None if listing is None else listing.issuers,
            addresses=tuple(Address(a, via) for a, via in sorted(used.items())),
            user_agents=tuple(sorted(agents.get(key.access_key_id or "", ()))),
            evidence_days=days,
        )
    return facts


def _owner_email(key: AccessKey) -> str:
    return (key.owner.email if key.owner_id and key.owner else "").strip().lower()


def way_out_facts(key: AccessKey, *, today: date) -> WayOutFacts:
    """What is known about ``key`` for its way out, over the evidence window ending today."""
    return _facts_for_keys([key], today=today)[key.pk]


def way_out_for_keys(keys: Iterable[AccessKey], *, today: date) -> dict[int, KeyWayOut]:
    """Each key's way out and current plan, by key pk, in a constant number of queries (the
    key page asks for one key, "My keys" for a page of them)."""
    keys = list(keys)
    facts = _facts_for_keys(keys, today=today)
    plans: dict[int, MigrationPlan] = {}
    if keys:
        for plan in MigrationPlan.objects.filter(key__in=[k.pk for k in keys]).order_by(
                "key_id", "-opened_at", "-id"):
            plans.setdefault(plan.key_id, plan)
    return {key.pk: KeyWayOut(recommend(facts[key.pk]), plans.get(key.pk)) for key in keys}


def alternatives_in_evidence(key: AccessKey, *, today: date) -> dict[str, str]:
    """Per "why not" field of the purpose registration, the evidence sentence saying that
    alternative is available for ``key`` (the registration form asks to confirm each)."""
    return available_alternatives(way_out_for_keys([key], today=today)[key.pk].way_out)


def key_way_out(key: AccessKey, *, today: date) -> dict:
    """The API's ``way_out`` for ``key`` (DESIGN.md public interfaces): ``path``,
    ``evidence`` (sentences) and ``plan`` (``{state, target_date}`` of its open or last
    plan, or None)."""
    found = way_out_for_keys([key], today=today)[key.pk]
    verdict, plan = found.way_out, found.plan
    return {"path": verdict.path.value, "evidence": list(verdict.evidence),
            "plan": None if plan is None else {"state": plan.state,
                                               "target_date": plan.target_date.isoformat()}}
