"""One key in an incident (issue 16): who owns it and answers for it, what it is for and where
it may be used from, what it can do, what is open on it, and what the trail saw it do.

The page and the JSON record for the incident file read the same ``Incident``, so the record
says exactly what the responder saw. The record holds no credential: Keyledger never has a
secret access key (ListAccessKeys does not return one), only the key's id.
"""

from dataclasses import dataclass
from datetime import date, datetime

from accounts.models import Person
from evidence.models import KeyUsageAddress, KeyUsageDay
from evidence.summary import KeyUsage, key_usage

from ..models import AccessKey, Finding, Registration
from .keys import ElementVerdict, KeyPage, key_page, key_scorecard

# The findings that make a key an incident: AWS found it in public, or it was used from
# somewhere its owner did not declare. The key page and the overview's top risks offer the
# incident view to the security team for these (key lookup takes them there for any key).
INCIDENT_CODES = ("KEY_EXPOSED", "UNEXPECTED_SOURCE")


@dataclass(frozen=True)
class Incident:
    key: AccessKey
    page: KeyPage
    manager: Person | None  # the owner's manager, who hears about it too
    scorecard: list[ElementVerdict]
    usage: KeyUsage  # the key page's Usage panel (``evidence.summary``), shown as is

    @property
    def registration(self) -> Registration | None:
        return self.page.registration

    @property
    def open_findings(self) -> list[Finding]:
        return self.page.open_worst_first

    @property
    def permissions(self) -> ElementVerdict:
        """The Permissions element as the key page's scorecard shows it."""
        return next(e for e in self.scorecard if e.element == "permissions")


def key_incident(key: AccessKey, *, today: date) -> Incident:
    """Everything the incident page shows of ``key`` (from ``access.key_for``)."""
    page = key_page(key)
    manager = key.owner.manager if key.owner is not None and key.owner.manager_id else None
    return Incident(key=key, page=page, manager=manager,
                    scorecard=key_scorecard(page.open_findings),
                    usage=key_usage(key, today=today))


def evidence_rows(key: AccessKey, usage: KeyUsage
                  ) -> tuple[list[KeyUsageDay], list[KeyUsageAddress]]:
    """The stored daily rows and address rows of ``key`` in ``usage``'s window, oldest
    first: what the record exports as evidence (the page shows them summed)."""
    if not key.access_key_id:
        return [], []
    window = {"access_key_id": key.access_key_id, "day__gte": usage.since,
              "day__lte": usage.until}
    return (list(KeyUsageDay.objects.filter(**window).order_by("day")),
            list(KeyUsageAddress.objects.filter(**window).order_by("day", "address")))


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def incident_record(incident: Incident, *, generated_at: datetime) -> dict:
    """The incident's evidence as JSON-ready data, for the incident record: the key, its
    owner, registration, open findings with reasons, the Permissions verdict, and the
    window's daily evidence rows and addresses, as stored."""
    key, registration, usage = incident.key, incident.registration, incident.usage
    owner = key.owner
    day_rows, address_rows = evidence_rows(key, usage)
    return {
        "generated_at": generated_at.isoformat(),
        "key": {"id": key.pk, "access_key_id": key.access_key_id, "status": key.status,
                "account_id": key.account.account_id, "account_name": key.account.name,
                "user_name": key.user.name, "user_arn": key.user.arn,
                "created_at": _iso(key.created_at), "last_used_at": _iso(key.last_used_at),
                "removed_at": _iso(key.removed_at)},
        "owner": None if owner is None else {
            "email": owner.email, "name": owner.name,
            "manager_email": incident.manager.email if incident.manager else None},
        "owner_gap": key.owner_gap if owner is None else "",
        "registration": None if registration is None else {
            "category": registration.category, "runs_where": registration.runs_where,
            "justification": registration.justification,
            "declared_sources": list(registration.declared_sources),
            "source_restriction": registration.source_restriction,
            "deactivation_contact": registration.deactivation_contact,
            "registered_at": _iso(registration.registered_at),
            "review_due_on": _iso(registration.review_due_on)},
        "open_findings": [
            {"code": f.code, "severity": f.severity, "element": f.element, "reason": f.reason,
             "opened_at": _iso(f.opened_at), "excepted": f.exception_id is not None}
            for f in incident.open_findings],
        "permissions": {"verdict": incident.permissions.verdict,
                        "reasons": list(incident.permissions.reasons)},
        "usage": {
            "window_days": usage.window_days, "since": _iso(usage.since),
            "until": _iso(usage.until), "sources_declared": usage.sources_declared,
            "days": [{"day": _iso(row.day), "account_id": row.account_id,
                      "events": row.events, "errors": row.errors,
                      "actions": row.actions, "event_sources": row.event_sources,
                      "regions": row.regions, "user_agents": row.user_agents}
                     for row in day_rows],
            "addresses": [{"day": _iso(row.day), "address": row.address,
                           "via_aws_service": row.via_aws_service,
                           "first_seen": _iso(row.first_seen), "last_seen": _iso(row.last_seen),
                           "events": row.events} for row in address_rows],
            "undeclared": [{"address": a.address, "first_seen": _iso(a.first_seen),
                            "last_seen": _iso(a.last_seen), "events": a.events}
                           for a in usage.undeclared],
        },
    }
