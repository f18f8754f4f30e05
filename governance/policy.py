"""The finding rules of DESIGN.md: facts about one key in, findings out.

Pure on purpose: no ORM, no clock (``now`` is passed in), no AWS. The caller gathers the
facts (:class:`KeyFacts`), and the same facts always give the same findings, so the rules
are tested exhaustively in milliseconds and a re-evaluation can be compared with the last.

Decisions the table leaves open, and why:

* **Inactive keys** raise nothing, whatever else is wrong: they cannot be used.
* **Root keys** get ``ROOT_KEY`` plus the rules that still describe the key itself
  (``ROTATION_*``, ``UNUSED``, ``NO_AUDIT_TRAIL``). Owner, purpose, permissions, source,
  console password and key count are questions about an IAM user; for the root user they
  are all answered by "delete the key", which ``ROOT_KEY`` (critical, not waivable) says.
* **Unknown dates** say nothing rather than guess: no ``created_at`` means no rotation
  finding; ``UNUSED`` counts from the last use, or from creation when never used, and is
  silent when both are unknown.
* **Unknown CloudTrail status** (``None``) fails ``NO_AUDIT_TRAIL``: the element requires
  usage to be traceable, and "we could not tell" is not evidence that it is.
* **Unknown permissions** (``None`` on a non-root key) raise none of ``ADMIN_PRIVILEGE``,
  ``PRIVILEGE_ESCALATION`` and ``NO_SOURCE_RESTRICTION``: there is nothing to judge, and a
  guess would be noise.
* **Admin and escalation never both fire**: an admin has no path to climb, so
  ``PRIVILEGE_ESCALATION`` fires only when ``ADMIN_PRIVILEGE`` does not (the analyser already
  says so; the rule holds even if a verdict claimed both). Its reason names the path.
* **An exposed key** (``KEY_EXPOSED``): AWS quarantines the *user*, not one key, and does not
  say which key it found; so every active key of a quarantined user fires, each to be
  replaced. Like every rule it is silent on inactive keys (they cannot be used; delete them
  anyway) and on root keys (AWS attaches no policy to the root user; ``ROOT_KEY`` says
  everything). It is critical and not waivable: a key in public is used by strangers, and
  no justification changes that. The fact is the label of the quarantine policy and where it
  is attached (``quarantined_by``), so the reason shows what AWS did.
* **Unexpected sources** (``UNEXPECTED_SOURCE``) are judged only against declared sources:
  nothing declared, no finding (``NO_PURPOSE`` or the registration form asks for them). The
  window is the last ``evidence_days`` UTC days including today's; an AWS service calling
  for the key never counts. A declared VPC id matches nothing here: CloudTrail names the
  endpoint a call came through, not the VPC, so an owner declares the endpoint id too.
* **A purpose registration without a review date** is current; one whose review date is
  today or earlier is not.
* **Exceptions** only cover waivable rules: :func:`compliance` and :func:`scorecard` ignore
  an "excepted" code whose rule is not waivable, and count codes they do not know as
  failing, so a caller's mistake can never make a key look compliant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from .iam_policy import PermissionVerdict
from .sources import address_declared, is_ip_address, stored_sources

ACTIVE = "Active"


class Element(StrEnum):
    PURPOSE = "purpose"
    PERMISSIONS = "permissions"
    SOURCE = "source"
    UPDATES = "updates"
    AUDITING = "auditing"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def rank(self) -> int:
        """Larger is worse: critical 4, high 3, medium 2, low 1 (sort with ``key=rank``)."""
        return _SEVERITY_RANK[self]

    @property
    def above_low(self) -> bool:
        """Whether a finding of this severity affects compliance (low ones never do)."""
        return self.rank() > 1


_SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


@dataclass(frozen=True)
class Rule:
    """One row of DESIGN.md's findings table, and what a key's owner must do about it.

    ``fix`` is the advice the pages and the reminders give (``governance.needs``), kept here
    so that a rule and what it asks for are defined once.
    """

    code: str
    element: Element
    severity: Severity
    waivable: bool
    title: str
    fix: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.code: rule for rule in rules}


E, S = Element, Severity
RULES: dict[str, Rule] = _rules(
    Rule("ROOT_KEY", E.PERMISSIONS, S.CRITICAL, False, "Root user has an active access key",
         fix="Delete the root user's access key."),
    Rule("KEY_EXPOSED", E.UPDATES, S.CRITICAL, False, "AWS found this key in public",
         fix="Replace the key now: create a new one, switch the workload over, deactivate "
             "and delete this one; then check CloudTrail (or ask AWS Support) for what it "
             "did while it was public."),
    Rule("ADMIN_PRIVILEGE", E.PERMISSIONS, S.HIGH, True, "Key can do * on *",
         fix="Cut its permissions down to what the workload needs (no * on *)."),
    Rule("PRIVILEGE_ESCALATION", E.PERMISSIONS, S.HIGH, True, "Key can make itself admin",
         fix="Remove the path to admin the finding names (the IAM write actions, or "
             "iam:PassRole with a service that runs code), or confine it to the resources "
             "the workload needs."),
    Rule("NO_SOURCE_RESTRICTION", E.SOURCE, S.MEDIUM, True, "Key usable from anywhere",
         fix="Confine it to known sources (aws:SourceIp / aws:SourceVpce)."),
    Rule("UNEXPECTED_SOURCE", E.SOURCE, S.HIGH, True, "Key used from an undeclared source",
         fix="Find out who used the key from the addresses the finding names: if the use "
             "is legitimate, declare the sources in the key's registration; if not, "
             "replace the key now."),
    Rule("ROTATION_OVERDUE", E.UPDATES, S.HIGH, True, "Rotation overdue",
         fix="Rotate it: create a new key, switch the workload over, delete this one."),
    Rule("ROTATION_DUE", E.UPDATES, S.LOW, False, "Rotation due soon",
         fix="Rotation is due soon: plan the switch to a new key."),
    Rule("UNUSED", E.UPDATES, S.MEDIUM, True, "Key unused",
         fix="Deactivate it if nothing uses it any more."),
    Rule("MULTIPLE_ACTIVE_KEYS", E.PURPOSE, S.MEDIUM, True, "User has several active keys",
         fix="Keep one active key per IAM user: deactivate the spare."),
    Rule("HUMAN_USER_KEY", E.PURPOSE, S.MEDIUM, True, "Key belongs to a person",
         fix="A person should sign in through IAM Identity Center, not use a key."),
    Rule("NO_OWNER", E.PURPOSE, S.HIGH, False, "No owner",
         fix="Name an owner."),
    Rule("NO_PURPOSE", E.PURPOSE, S.MEDIUM, False, "No current purpose registration",
         fix="Register its purpose and why a role, Identity Center or STS cannot serve."),
    Rule("NO_AUDIT_TRAIL", E.AUDITING, S.MEDIUM, True, "No CloudTrail trail logging",
         fix="The account needs a logging multi-region CloudTrail trail."),
)
del E, S

# Findings about the account rather than the key (DESIGN.md): they stay on each key (CSV, API,
# compliance) but a key's owner cannot fix them, so the overview counts them once per
# account, a key's risk leaves them out and no owner is asked to act on them.
ACCOUNT_CODES = frozenset({"NO_AUDIT_TRAIL"})


@dataclass(frozen=True)
class Thresholds:
    rotation_max_days: int = 90
    rotation_warning_days: int = 14
    unused_days: int = 45
    evidence_days: int = 30  # the CloudTrail window UNEXPECTED_SOURCE looks at


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class OwnerFacts:
    """``email`` when the key resolves to an active person; else why not (``gap_reason``)."""

    email: str = ""
    gap_reason: str = ""


@dataclass(frozen=True)
class PurposeFacts:
    """The key's current registration, if any; it lapses on its review date."""

    registered: bool = False
    review_due_on: date | None = None


@dataclass(frozen=True)
class AddressDay:
    """One source address of the key on one UTC day, as the usage evidence stored it:
    ``actions`` are ``(action, events)`` pairs; ``vpc_endpoint_id`` is the endpoint every
    call from it that day came through ('' when none, or not always the same one)."""

    day: date
    address: str
    first_seen: datetime
    last_seen: datetime
    events: int
    actions: tuple[tuple[str, int], ...] = ()
    via_aws_service: bool = False
    vpc_endpoint_id: str = ""


@dataclass(frozen=True)
class KeyFacts:
    is_root: bool
    status: str  # "Active" / "Inactive"
    created_at: datetime | None
    last_used_at: datetime | None
    user_active_keys: int = 0
    user_has_password: bool = False
    permissions: PermissionVerdict | None = None  # None for root keys, or when unknown
    owner: OwnerFacts = field(default_factory=OwnerFacts)
    purpose: PurposeFacts = field(default_factory=PurposeFacts)
    account_trail_logging: bool | None = None
    # AWS's quarantine policy on the user, as a label ('attached policy "AWSCompromised…"
    # (user)'); empty when AWS has not quarantined it.
    quarantined_by: str = ""
    # The current registration's declared sources (canonical strings, ``governance.sources``)
    # and the key's source addresses per day from CloudTrail (at least the evidence window).
    declared_sources: tuple[str, ...] = ()
    addresses: tuple[AddressDay, ...] = ()


@dataclass(frozen=True)
class Finding:
    code: str
    element: Element
    severity: Severity
    waivable: bool
    reason: str


def age_days(when: datetime, now: datetime) -> int:
    """Whole days from ``when`` to ``now`` (DESIGN.md: ages are ``now - date``)."""
    return (now - when).days


def _utc_date(when: datetime) -> date:
    """The UTC calendar date of ``when``: CloudTrail's days are UTC days."""
    return (when.astimezone(UTC) if when.tzinfo else when).date()


def _day(when: datetime) -> str:
    """The UTC calendar date of ``when``, as shown in reasons."""
    return _utc_date(when).isoformat()


def _finding(code: str, reason: str) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.element, rule.severity, rule.waivable, reason)


def _rotation(facts: KeyFacts, now: datetime, t: Thresholds) -> list[Finding]:
    if facts.created_at is None:
        return []
    age = age_days(facts.created_at, now)
    created = f"created {_day(facts.created_at)}, {age} days ago"
    if age > t.rotation_max_days:
        return [_finding("ROTATION_OVERDUE", f"{created}; limit {t.rotation_max_days}")]
    if age > t.rotation_max_days - t.rotation_warning_days:
        left = t.rotation_max_days - age
        return [_finding("ROTATION_DUE", f"{created}; rotate within {left} days "
                                         f"(limit {t.rotation_max_days})")]
    return []


def _unused(facts: KeyFacts, now: datetime, t: Thresholds) -> list[Finding]:
    if facts.last_used_at is not None:
        idle = age_days(facts.last_used_at, now)
        what = f"last used {_day(facts.last_used_at)}, {idle} days ago"
    elif facts.created_at is not None:
        idle = age_days(facts.created_at, now)
        what = f"never used since creation {_day(facts.created_at)}, {idle} days ago"
    else:
        return []
    if idle > t.unused_days:
        return [_finding("UNUSED", f"{what}; limit {t.unused_days}")]
    return []


def _audit(facts: KeyFacts) -> list[Finding]:
    if facts.account_trail_logging is True:
        return []
    if facts.account_trail_logging is None:
        return [_finding("NO_AUDIT_TRAIL", "CloudTrail status unknown: not yet read from "
                                           "the account")]
    return [_finding("NO_AUDIT_TRAIL", "no multi-region CloudTrail trail is logging in the "
                                       "key's account")]


def _purpose(facts: KeyFacts, today: date) -> list[Finding]:
    found = []
    if facts.user_active_keys >= 2:
        found.append(_finding("MULTIPLE_ACTIVE_KEYS", f"user has {facts.user_active_keys} "
                                                      "active keys; one key per purpose"))
    if facts.user_has_password:
        found.append(_finding("HUMAN_USER_KEY", "user also has a console password: a person, "
                                                "who should use IAM Identity Center"))
    if not facts.owner.email:
        found.append(_finding("NO_OWNER", facts.owner.gap_reason or "no owner resolved"))
    purpose = facts.purpose
    if not purpose.registered:
        found.append(_finding("NO_PURPOSE", "no purpose registered"))
    elif purpose.review_due_on is not None and purpose.review_due_on <= today:
        overdue = (today - purpose.review_due_on).days
        found.append(_finding("NO_PURPOSE", f"purpose review was due "
                                            f"{purpose.review_due_on.isoformat()}, "
                                            f"{overdue} days ago"))
    return found


def _permissions(verdict: PermissionVerdict | None) -> list[Finding]:
    if verdict is None:
        return []
    found = []
    if verdict.admin:
        found.append(_finding("ADMIN_PRIVILEGE", verdict.admin_reason))
    elif verdict.escalation:
        found.append(_finding("PRIVILEGE_ESCALATION", verdict.escalation_reason))
    if not verdict.source_restricted:
        found.append(_finding("NO_SOURCE_RESTRICTION", verdict.source_reason))
    return found


def _exposure(facts: KeyFacts) -> list[Finding]:
    if not facts.quarantined_by:
        return []
    return [_finding("KEY_EXPOSED", f"AWS quarantined the user ({facts.quarantined_by}): it "
                                    "found one of the user's keys in public; replace the key "
                                    "and deactivate it")]


# How much of the evidence an UNEXPECTED_SOURCE reason shows: it must fit the stored reason.
REASON_CHARS = 500
REASON_ACTIONS = 3


@dataclass
class _Undeclared:
    first_seen: datetime
    last_seen: datetime
    events: int = 0
    actions: Counter[str] = field(default_factory=Counter)


def _instant(when: datetime) -> str:
    """``when`` in UTC, ISO 8601 to the second (``2026-11-03T10:00:00Z``)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _undeclared(facts: KeyFacts, today: date, t: Thresholds) -> dict[str, _Undeclared]:
    """The window's addresses outside the declared sources, summed over its days. AWS
    services acting for the key (``via_aws_service``, or a service name for an address) are
    never undeclared: they are where the key's own calls went, not where it was used from."""
    sources = stored_sources(facts.declared_sources)
    start = today - timedelta(days=t.evidence_days - 1)
    found: dict[str, _Undeclared] = {}
    for row in facts.addresses:
        if row.day < start or row.via_aws_service or not is_ip_address(row.address):
            continue
        if address_declared(row.address, sources, vpc_endpoint_id=row.vpc_endpoint_id):
            continue
        seen = found.setdefault(row.address, _Undeclared(row.first_seen, row.last_seen))
        seen.first_seen = min(seen.first_seen, row.first_seen)
        seen.last_seen = max(seen.last_seen, row.last_seen)
        seen.events += row.events
        seen.actions.update(dict(row.actions))
    return found


def _address_line(address: str, seen: _Undeclared) -> str:
    actions = sorted(seen.actions.items(), key=lambda item: (-item[1], item[0]))
    shown = [f"{action} {events}" for action, events in actions[:REASON_ACTIONS]]
    if len(actions) > REASON_ACTIONS:
        shown.append(f"… and {len(actions) - REASON_ACTIONS} more")
    what = f" ({', '.join(shown)})" if shown else ""
    return (f"{address} first seen {_instant(seen.first_seen)}, last seen "
            f"{_instant(seen.last_seen)}, {seen.events} events{what}")


def _joined(head: str, lines: list[str], total: int) -> str:
    """``head``, then ``lines``, then how many of the ``total`` were left out."""
    rest = total - len(lines)
    return head + "; ".join(lines) + (f"; … and {rest} more" if rest else "")


def _unexpected_source(facts: KeyFacts, today: date, t: Thresholds) -> list[Finding]:
    """``UNEXPECTED_SOURCE``: the reason lists the undeclared addresses, most events first,
    as many as fit ``REASON_CHARS`` (always the first), then how many more there are."""
    if not facts.declared_sources:
        return []
    found = _undeclared(facts, today, t)
    if not found:
        return []
    ordered = sorted(found.items(), key=lambda item: (-item[1].events, item[0]))
    head = (f"used from {len(ordered)} undeclared address"
            f"{'es' if len(ordered) > 1 else ''} in the last {t.evidence_days} days: ")
    lines = [_address_line(address, seen) for address, seen in ordered]
    shown = 1
    while shown < len(lines) and len(_joined(head, lines[:shown + 1], len(lines))) \
            <= REASON_CHARS:
        shown += 1
    return [_finding("UNEXPECTED_SOURCE", _joined(head, lines[:shown], len(lines)))]


def evaluate_key(facts: KeyFacts, *, now: datetime,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    """Every finding that fires on this key at ``now``, sorted by code; [] when inactive."""
    if facts.status != ACTIVE:
        return []
    found = _rotation(facts, now, thresholds) + _unused(facts, now, thresholds)
    found += _audit(facts)
    if facts.is_root:
        found.append(_finding("ROOT_KEY", "the account root user has an active access key; "
                                          "delete it"))
    else:
        found += (_exposure(facts) + _purpose(facts, now.date())
                  + _permissions(facts.permissions)
                  + _unexpected_source(facts, _utc_date(now), thresholds))
    return sorted(found, key=lambda f: f.code)


# -- judgement over findings -------------------------------------------------------------

class Compliance(StrEnum):
    COMPLIANT = "compliant"
    EXCEPTED = "excepted"
    NON_COMPLIANT = "non_compliant"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    EXCEPTED = "excepted"


def _blocks(code: str) -> bool:
    """Whether a finding with this code affects compliance (unknown codes do, to be safe)."""
    rule = RULES.get(code)
    return rule is None or rule.severity.above_low


def _covered(code: str, excepted: set[str]) -> bool:
    rule = RULES.get(code)
    return code in excepted and rule is not None and rule.waivable


def compliance(open_codes: Iterable[str], excepted_codes: Iterable[str]) -> Compliance:
    """``compliant`` with no open finding above low; ``excepted`` when every such finding is
    covered by an approved, unexpired exception (``excepted_codes``); else ``non_compliant``.
    """
    excepted = set(excepted_codes)
    blocking = {code for code in open_codes if _blocks(code)}
    if not blocking:
        return Compliance.COMPLIANT
    if all(_covered(code, excepted) for code in blocking):
        return Compliance.EXCEPTED
    return Compliance.NON_COMPLIANT


def scorecard(findings: Iterable[Finding], excepted_codes: Iterable[str]
              ) -> dict[Element, tuple[Verdict, tuple[str, ...]]]:
    """The five elements, each with its verdict and the reasons behind it.

    ``fail``: some finding above low is not excepted (reasons: those findings);
    ``excepted``: every finding above low is excepted (reasons: the excepted ones);
    ``pass``: nothing above low (reasons: low findings, as notices; often empty).
    Reasons read ``CODE: reason``, worst severity first.
    """
    excepted = set(excepted_codes)
    ordered = sorted(findings, key=lambda f: (-Severity(f.severity).rank(), f.code))
    card = {}
    for element in Element:
        mine = [f for f in ordered if f.element == element]
        blocking = [f for f in mine if Severity(f.severity).above_low]
        failing = [f for f in blocking if not _covered(f.code, excepted)]
        if failing:
            verdict, shown = Verdict.FAIL, failing
        elif blocking:
            verdict, shown = Verdict.EXCEPTED, blocking
        else:
            verdict, shown = Verdict.PASS, mine
        card[element] = (verdict, tuple(f"{f.code}: {f.reason}" for f in shown))
    return card
