"""The facts of a key's way out, gathered from the database for ``governance.way_out``.

The one place that turns stored rows (findings, the current registration, the stored
Identity Center and OIDC reads, the usage evidence of the window) into ``WayOutFacts``, so
the key page, "My keys", the API's ``way_out`` and the registration form agree. What was
never read stays ``None`` in the facts, and the verdict says so instead of guessing.
"""

from datetime import date, timedelta

from django.conf import settings

from evidence.models import KeyUsageAddress, KeyUsageDay
from governance.models import AccessKey
from governance.selectors.keys import current_registration
from governance.way_out import Address, Assignment, WayOut, WayOutFacts, recommend

from .models import IdentityCenterPerson, MigrationPlan, OidcProviderListing


def way_out_facts(key: AccessKey, *, today: date) -> WayOutFacts:
    """What is known about ``key`` for its way out, over the evidence window ending today."""
    registration = current_registration(key)
    owner_email = (key.owner.email if key.owner_id and key.owner else "").strip().lower()
    person = (IdentityCenterPerson.objects.filter(email=owner_email)
              .prefetch_related("assignments").first() if owner_email else None)
    listing = OidcProviderListing.objects.filter(account_id=key.account_id).first()
    days = settings.KEYLEDGER_EVIDENCE_DAYS
    since = today - timedelta(days=days - 1)
    addresses: dict[str, bool] = {}
    agents: set[str] = set()
    if key.access_key_id:
        for address, via in (KeyUsageAddress.objects.filter(
                access_key_id=key.access_key_id, day__gte=since)
                .values_list("address", "via_aws_service")):
            addresses[address] = addresses.get(address, False) or via
        for day in KeyUsageDay.objects.for_key(key.access_key_id, since=since).only(
                "user_agents"):
            agents.update(day.user_agents)
    return WayOutFacts(
        account_id=key.account.account_id, account_name=key.account.name,
        # Open findings, excepted or not: an exception accepts a person's key for a while;
        # it is still a person's key, with the same way out.
        open_codes=frozenset(key.findings.filter(resolved_at__isnull=True)
                             .values_list("code", flat=True)),
        purpose_category=registration.category if registration else "",
        owner_email=owner_email,
        identity_center_user=None if person is None else bool(person.user_id),
        assignments=() if person is None else tuple(
            Assignment(a.account_id, a.permission_set_name) for a in person.assignments.all()),
        oidc_issuers=None if listing is None else listing.issuers,
        addresses=tuple(Address(a, via) for a, via in sorted(addresses.items())),
        user_agents=tuple(sorted(agents)),
        evidence_days=days,
    )


def key_way_out(key: AccessKey, *, today: date) -> dict:
    """The API's ``way_out`` for ``key`` (DESIGN.md public interfaces): ``path``,
    ``evidence`` (sentences) and ``plan`` (``{state, target_date}`` of its open or last
    plan, or None)."""
    verdict: WayOut = recommend(way_out_facts(key, today=today))
    plan = MigrationPlan.objects.filter(key=key).order_by("-opened_at").first()
    return {"path": verdict.path.value, "evidence": list(verdict.evidence),
            "plan": None if plan is None else {"state": plan.state,
                                               "target_date": plan.target_date.isoformat()}}
