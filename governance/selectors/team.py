"""A manager's people: their direct reports at a glance, and the keys of people who left.

"My team" counts **direct reports only** (people whose ``manager`` is the viewer): each
manager answers for the people they decide exceptions for (DESIGN.md "Exceptions"), and a
report's report has a manager of their own who sees them.

A person who leaves (inactive, however that happened: the admin, the import, SCIM or single
sign-on deprovisioning) owns nothing any more (DESIGN.md "Ownership"), so their keys fall
out of every owner's list. They land in the queue "Keys of people who left" of the leaver's
manager (the security team's queue holds every leaver's), read from the leaver's inactive
state alone: the key's Keyledger assignment, its stored owner (a key not re-evaluated since)
or an owner tag naming them.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower, Trim

from accounts.models import Person

from ..models import AccessKey, ExceptionRequest, Finding
from ..policy import ACCOUNT_CODES, Severity

TEAM_SEVERITIES = (Severity.CRITICAL.value, Severity.HIGH.value, Severity.MEDIUM.value)


# -- keys of people who left -------------------------------------------------------------

def departed_people(person) -> QuerySet:
    """The inactive people whose keys ``person`` takes care of: every one for the security
    team, their former direct reports for anyone else."""
    from ..access import is_security  # access reads this module: import when called

    gone = Person.objects.filter(is_active=False)
    return gone if is_security(person) else gone.filter(manager=person)


def _leaver_link(departed: QuerySet) -> Q:
    """Keys whose owner of record is among ``departed``: assigned, stored, or tagged."""
    link = Q(assigned_owner__in=departed) | Q(owner__in=departed)
    for tag_key in settings.KEYLEDGER_OWNER_TAG_KEYS:
        # e-mails are stored in one spelling (lower case); tag values are compared likewise.
        tagged = Lower(Trim(KeyTextTransform(tag_key, "user__tags")))
        link |= Q(pk__in=AccessKey.objects.alias(tagged=tagged)
                  .filter(tagged__in=departed.values("email")).values("pk"))
    return link


def leaver_keys(person) -> QuerySet:
    """Keys still in AWS that no active person owns and whose owner of record left, within
    ``person``'s care (``departed_people``), by account, IAM user and age."""
    if not (person and person.is_authenticated and person.is_active):
        return AccessKey.objects.none()
    departed = departed_people(person)
    return (AccessKey.objects.filter(removed_at__isnull=True)
            .filter(Q(owner__isnull=True) | Q(owner__is_active=False))
            .filter(_leaver_link(departed))
            .select_related("account", "user", "owner", "assigned_owner")
            .order_by("account__name", "user__name", "created_at", "pk"))


@dataclass(frozen=True)
class LeaverKey:
    key: AccessKey
    left: Person | None  # the owner of record who left (None: not resolvable any more)


def leaver_rows(person, keys) -> list[LeaverKey]:
    """``keys`` (from ``leaver_keys``) each with the person who left them."""
    departed = list(departed_people(person).only("pk", "email", "name"))
    by_id = {p.pk: p for p in departed}
    by_email = {p.email: p for p in departed}
    rows = []
    for key in keys:
        left = by_id.get(key.assigned_owner_id) or by_id.get(key.owner_id)
        if left is None:
            tags = key.user.tags or {}
            left = next((by_email[str(tags[k]).strip().lower()]
                         for k in settings.KEYLEDGER_OWNER_TAG_KEYS
                         if k in tags and str(tags[k]).strip().lower() in by_email), None)
        rows.append(LeaverKey(key, left))
    return rows


# -- my team -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TeamMember:
    """One direct report and what is open on their keys (the ``*_count`` numbers are those of
    the lists the My team page links to)."""

    person: Person
    keys: int
    findings: dict  # severity -> open, not excepted findings of their keys (account ones aside)
    overdue: int  # keys with ROTATION_OVERDUE open and not excepted
    pending: int  # their exception requests awaiting a decision

    @property
    def severity_counts(self) -> list[tuple[str, int]]:
        return [(severity, self.findings.get(severity, 0)) for severity in TEAM_SEVERITIES]


def team_findings(member: Person, severity: str | None = None) -> QuerySet:
    """Open, not excepted findings of ``member``'s keys still in AWS (an account's own
    findings, such as ``NO_AUDIT_TRAIL``, are the security team's, not the owner's),
    optionally of one severity, worst and newest first."""
    findings = (Finding.objects.filter(key__owner=member, key__removed_at__isnull=True,
                                       resolved_at__isnull=True, exception__isnull=True)
                .exclude(code__in=ACCOUNT_CODES)
                .select_related("key__account", "key__user"))
    if severity:
        findings = findings.filter(severity=severity)
    return findings.order_by("-opened_at", "pk")


def team_of(person) -> list[TeamMember]:
    """``person``'s active direct reports, by e-mail, each with their numbers (a query per
    number across the whole team, not per person)."""
    reports = list(Person.objects.filter(manager=person, is_active=True).order_by("email"))
    ids = [p.pk for p in reports]
    keys = dict(AccessKey.objects.filter(owner_id__in=ids, removed_at__isnull=True)
                .values_list("owner_id").annotate(n=Count("pk")).values_list("owner_id", "n"))
    findings: dict[int, dict] = {}
    for owner_id, severity, n in (Finding.objects.filter(
            key__owner_id__in=ids, key__removed_at__isnull=True, resolved_at__isnull=True,
            exception__isnull=True, severity__in=TEAM_SEVERITIES)
            .exclude(code__in=ACCOUNT_CODES).values_list("key__owner_id", "severity")
            .annotate(n=Count("pk")).values_list("key__owner_id", "severity", "n")):
        findings.setdefault(owner_id, {})[severity] = n
    overdue = dict(Finding.objects.filter(
        key__owner_id__in=ids, key__removed_at__isnull=True, resolved_at__isnull=True,
        exception__isnull=True, code="ROTATION_OVERDUE")
        .values_list("key__owner_id").annotate(n=Count("key", distinct=True))
        .values_list("key__owner_id", "n"))
    pending = dict(ExceptionRequest.objects.filter(
        requested_by_id__in=ids, status=ExceptionRequest.Status.REQUESTED)
        .values_list("requested_by_id").annotate(n=Count("pk"))
        .values_list("requested_by_id", "n"))
    return [TeamMember(person=p, keys=keys.get(p.pk, 0), findings=findings.get(p.pk, {}),
                       overdue=overdue.get(p.pk, 0), pending=pending.get(p.pk, 0))
            for p in reports]
