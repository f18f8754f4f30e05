"""Turn stored facts into stored judgement: findings, compliance and resolved owners.

Loads everything one evaluation needs in a fixed number of queries per chunk of keys (keys,
their users and active-key counts, policy documents, registrations, exceptions, open
findings) plus people and accounts once, runs the pure rules of ``policy`` on each key, and
writes only what changed (``bulk_write.update_columns``): new findings open, vanished ones
resolve (kept, with the time), and the key's summary columns are refreshed for lists and
exports.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Person
from evidence.models import KeyUsageAddress

from .bulk_write import BATCH, update_columns
from .iam_policy import PermissionVerdict, PolicySource, analyse_permissions, quarantine_policy
from .models import (
    ROOT_USER_NAME,
    AccessKey,
    AwsAccount,
    ExceptionRequest,
    Finding,
    IamUser,
    PolicyDocument,
    Registration,
)
from .ownership import Ownership, PersonRef, resolve_owner
from .policy import (
    RULES,
    AddressDay,
    KeyFacts,
    OwnerFacts,
    PurposeFacts,
    Thresholds,
    compliance,
    evaluate_key,
)
from .policy import Finding as Judgement  # what a rule finds; ``Finding`` is the stored row
from .signals import findings_opened

CHUNK = 5000
KEY_SUMMARY_FIELDS = ["owner", "owner_gap", "compliance", "open_codes", "evaluated_at"]
# The columns the rules and the summary comparison read; nothing else is loaded.
KEY_FIELDS = ["id", "account_id", "user_id", "access_key_id", "status", "created_at",
              "last_used_at", "removed_at", "assigned_owner_id", "owner_id", "owner_gap",
              "compliance", "open_codes"]
ADDRESS_FIELDS = ["access_key_id", "day", "address", "first_seen", "last_seen", "events",
                  "actions", "via_aws_service", "vpc_endpoint_id"]
USER_FIELDS = ["id", "name", "tags", "policies", "password_enabled"]
FINDING_FIELDS = ["id", "key_id", "code", "reason", "severity", "exception_id"]


@dataclass
class EvaluationResult:
    keys: int = 0
    opened: int = 0
    resolved: int = 0
    updated: int = 0
    open_by_code: Counter[str] = field(default_factory=Counter)
    opened_by_code: Counter[str] = field(default_factory=Counter)  # newly opened in this run


def thresholds() -> Thresholds:
    return Thresholds(
        rotation_max_days=settings.KEYLEDGER_ROTATION_MAX_DAYS,
        rotation_warning_days=settings.KEYLEDGER_ROTATION_WARNING_DAYS,
        unused_days=settings.KEYLEDGER_UNUSED_DAYS,
        evidence_days=settings.KEYLEDGER_EVIDENCE_DAYS,
    )


def evaluate_and_announce(*, keys: QuerySet[AccessKey], now: datetime | None = None,
                          account: AwsAccount | None = None) -> EvaluationResult:
    """Re-evaluate ``keys`` and, once the transaction commits, announce the findings it
    opened (``findings_opened``: notifications send the urgent ones at once, e.g. a
    critical finding or ``UNEXPECTED_SOURCE``). For callers that change what the rules read
    outside a sync: new usage evidence, a registration's declared sources. Call inside the
    transaction that wrote."""
    evaluation = evaluate_keys(keys=keys, now=now)
    if evaluation.opened_by_code:
        transaction.on_commit(partial(
            findings_opened.send, sender=AccessKey, account=account,
            codes=frozenset(evaluation.opened_by_code)), robust=True)
    return evaluation


def evaluate_keys(*, keys: QuerySet[AccessKey] | None = None,
                  now: datetime | None = None) -> EvaluationResult:
    """Re-evaluate ``keys`` (a queryset; default: every key). Call inside a transaction.

    Works through the keys in chunks of ``CHUNK``, so memory stays flat however many keys
    there are, and reads plain rows of only the columns the rules need: building model
    instances (with account and user) for 100,000 keys cost more than the rules themselves.
    Model instances are made only for the rows that are written.
    """
    now = now or timezone.now()
    scope = keys if keys is not None else AccessKey.objects.all()
    key_ids = list(scope.order_by("pk").values_list("pk", flat=True))
    shared = _Shared.load()
    result = EvaluationResult(keys=len(key_ids))
    for start in range(0, len(key_ids), CHUNK):
        chunk = _Chunk(key_ids[start:start + CHUNK], every_key=keys is None)
        _evaluate_chunk(chunk, shared, now, result)
    return result


@dataclass(frozen=True)
class _Chunk:
    """The ids of one chunk of keys (ascending), and the filter that picks rows of them."""

    ids: list[int]
    every_key: bool  # every key between the first and the last id is in the chunk

    def of(self, path: str) -> Q:
        """Rows whose ``path`` (``pk``, ``key__pk``) is one of the chunk's keys. When the
        chunk holds every key of its id range, a range: far cheaper than an IN list of 5,000
        ids."""
        if self.every_key:
            return Q(**{f"{path}__range": (self.ids[0], self.ids[-1])})
        return Q(**{f"{path}__in": self.ids})


def _evaluate_chunk(chunk: _Chunk, shared: "_Shared", now: datetime,
                    result: EvaluationResult) -> None:
    """Evaluate the keys of ``chunk`` and write what changed (findings, key summaries)."""
    keys = list(AccessKey.objects.filter(chunk.of("pk")).order_by()
                .values_list(*KEY_FIELDS, named=True))
    context = _Context.load(keys, chunk, now, shared)
    new_findings: list[Finding] = []
    changed_findings: list[Finding] = []
    changed_keys: list[AccessKey] = []
    for key in keys:
        ownership = context.ownership(key)
        wanted = {f.code: f for f in context.findings_for(key, ownership, now)}
        covered = {code for code in wanted if (key.id, code) in context.exceptions}
        for code, finding in wanted.items():
            exception_id = context.exceptions.get((key.id, code))
            row = context.open_findings.pop((key.id, code), None)
            reason = finding.reason[:500]
            if row is None:
                result.opened_by_code[code] += 1
                new_findings.append(Finding(
                    key_id=key.id, code=code, element=finding.element,
                    severity=finding.severity, reason=reason, opened_at=now,
                    exception_id=exception_id))
            elif (row.reason, row.severity, row.exception_id) != (
                    reason, finding.severity, exception_id):
                changed_findings.append(Finding(id=row.id, reason=reason,
                                                severity=finding.severity,
                                                exception_id=exception_id))
            if code not in covered:
                result.open_by_code[code] += 1
        summary = {
            "owner_id": ownership.owner.id if ownership.owner else None,
            "owner_gap": ownership.gap[:300],
            "compliance": compliance(wanted, covered).value if not key.removed_at else "",
            "open_codes": ";".join(sorted(set(wanted) - covered)),
        }
        if any(getattr(key, name) != value for name, value in summary.items()):
            changed_keys.append(AccessKey(id=key.id, evaluated_at=now, **summary))
    # open before, not firing any more
    resolved = [Finding(id=row.id, resolved_at=now) for row in context.open_findings.values()]
    Finding.objects.bulk_create(new_findings, batch_size=BATCH)
    update_columns(Finding, changed_findings, ["reason", "severity", "exception"])
    update_columns(Finding, resolved, ["resolved_at"])
    update_columns(AccessKey, changed_keys, KEY_SUMMARY_FIELDS)
    result.opened += len(new_findings)
    result.resolved += len(resolved)
    result.updated += len(changed_findings) + len(changed_keys)


@dataclass
class _Shared:
    """What every chunk needs, loaded once: settings, people, accounts; and the policy
    documents and verdicts, filled as chunks need them (users share a handful)."""

    thresholds: Thresholds
    tag_keys: list[str]
    people: dict[str, PersonRef]  # by lower-cased e-mail, as owner tags name them
    people_by_id: dict[int, PersonRef]
    trail_logging: dict[int, bool | None]  # by account pk
    documents: dict[str, Any] = field(default_factory=dict)  # by digest
    verdicts: dict[tuple, tuple[PermissionVerdict, str]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "_Shared":
        people = {p.email.lower(): PersonRef(p.pk, p.email, p.is_active)
                  for p in Person.objects.only("id", "email", "is_active")}
        return cls(
            thresholds=thresholds(), tag_keys=list(settings.KEYLEDGER_OWNER_TAG_KEYS),
            people=people, people_by_id={p.id: p for p in people.values()},
            trail_logging=dict(AwsAccount.objects.values_list("pk", "cloudtrail_logging")))

    def load_documents(self, digests: set[str]) -> None:
        """Fetch the policy documents not seen yet."""
        missing = list(digests - self.documents.keys())
        for start in range(0, len(missing), BATCH):
            self.documents.update(PolicyDocument.objects.filter(
                digest__in=missing[start:start + BATCH]).values_list("digest", "document"))


@dataclass
class _Context:
    """Everything the rules need about one chunk of keys, loaded in bulk."""

    shared: _Shared
    users: dict[int, IamUser]
    active_keys: dict[int, int]  # active, present keys by IAM user pk
    registrations: dict[int, date | None]  # current registration's review date, by key pk
    declared: dict[int, tuple[str, ...]]  # current registration's declared sources, by key pk
    addresses: dict[str, tuple[AddressDay, ...]]  # the window's, by access key id
    exceptions: dict[tuple[int, str], int]  # approved, unexpired exception pk by (key, code)
    open_findings: dict[tuple[int, str], Any]  # FINDING_FIELDS rows by (key, code)

    @classmethod
    def load(cls, keys: list, chunk: _Chunk, now: datetime, shared: _Shared) -> "_Context":
        """``keys`` are the rows of ``chunk``."""
        of_keys = chunk.of("key__pk")  # no join: Django reads the key_id column
        user_ids = {k.user_id for k in keys}
        users = IamUser.objects.only(*USER_FIELDS).in_bulk(user_ids)
        active_keys = dict(
            AccessKey.objects.filter(user_id__in=user_ids, removed_at__isnull=True,
                                     status=AccessKey.Status.ACTIVE)
            .values_list("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
        shared.load_documents({p["digest"] for u in users.values() for p in u.policies
                               if p.get("digest")})
        registrations: dict[int, date | None] = {}
        declared: dict[int, tuple[str, ...]] = {}
        for key_id, review_due_on, sources in Registration.objects.filter(
                of_keys, superseded_at__isnull=True).values_list(
                    "key_id", "review_due_on", "declared_sources"):
            registrations[key_id] = review_due_on
            if sources:
                declared[key_id] = tuple(sources)
        return cls(
            shared=shared, users=users, active_keys=active_keys,
            registrations=registrations, declared=declared,
            addresses=_window_addresses(keys, declared, now, shared.thresholds),
            exceptions={(key_id, code): pk
                        for pk, key_id, code in ExceptionRequest.objects.filter(
                            of_keys, status=ExceptionRequest.Status.APPROVED,
                            expires_on__gte=now.date()).values_list("id", "key_id", "code")},
            open_findings={(f.key_id, f.code): f
                           for f in Finding.objects.filter(of_keys, resolved_at__isnull=True)
                           .order_by().values_list(*FINDING_FIELDS, named=True)},
        )

    def ownership(self, key) -> Ownership:
        """Who owns ``key`` (a KEY_FIELDS row), or why nobody does; once per key, as both
        the rules (NO_OWNER) and the key's summary columns read it."""
        shared = self.shared
        assigned = shared.people_by_id.get(key.assigned_owner_id)
        return resolve_owner(assigned=assigned, tags=self.users[key.user_id].tags or {},
                             tag_keys=shared.tag_keys, people_by_email=shared.people)

    def permissions(self, user: IamUser) -> tuple[PermissionVerdict, str]:
        """The permission verdict of a user's policies and, when AWS quarantined the user,
        the quarantine policy's label; shared by users with the same set of policies.

        The quarantine is read from the attached policies' ARNs, so it counts even when the
        policy's document could not be read.
        """
        refs = tuple((p.get("source", ""), p.get("name", ""), p.get("digest", ""),
                      p.get("group", ""), p.get("arn", "")) for p in user.policies)
        verdicts, documents = self.shared.verdicts, self.shared.documents
        if refs not in verdicts:
            readable = [PolicySource(source, name, documents.get(digest, {}), group=group,
                                     arn=arn)
                        for source, name, digest, group, arn in refs if digest]
            quarantine = quarantine_policy(PolicySource(source, name, None, group=group, arn=arn)
                                           for source, name, _digest, group, arn in refs)
            verdicts[refs] = (analyse_permissions(readable),
                              quarantine.label if quarantine is not None else "")
        return verdicts[refs]

    def findings_for(self, key, ownership: Ownership, now: datetime) -> list[Judgement]:
        """What the rules find on ``key`` (a KEY_FIELDS row) owned as ``ownership`` says;
        nothing for a key no longer in AWS."""
        if key.removed_at is not None:
            return []
        user = self.users[key.user_id]
        is_root = user.name == ROOT_USER_NAME
        review_due = self.registrations.get(key.id)
        verdict, quarantined_by = (None, "") if is_root else self.permissions(user)
        facts = KeyFacts(
            is_root=is_root, status=key.status, created_at=key.created_at,
            last_used_at=key.last_used_at,
            user_active_keys=self.active_keys.get(key.user_id, 0),
            user_has_password=user.password_enabled and not is_root,
            permissions=verdict, quarantined_by=quarantined_by,
            owner=OwnerFacts(email=ownership.owner.email if ownership.owner else "",
                             gap_reason=ownership.gap),
            purpose=PurposeFacts(registered=review_due is not None, review_due_on=review_due),
            account_trail_logging=self.shared.trail_logging.get(key.account_id),
            declared_sources=self.declared.get(key.id, ()),
            addresses=self.addresses.get(key.access_key_id, ()),
        )
        return [f for f in evaluate_key(facts, now=now, thresholds=self.shared.thresholds)
                if f.code in RULES]


def _window_addresses(keys: list, declared: dict[int, tuple[str, ...]], now: datetime,
                      limits: Thresholds) -> dict[str, tuple[AddressDay, ...]]:
    """The evidence window's source addresses of the chunk's active keys that declare
    sources, by access key id, in one query; none at all (no query) when no key of the
    chunk declares any, as only ``UNEXPECTED_SOURCE`` reads them."""
    wanted = [k.access_key_id for k in keys if k.id in declared and k.access_key_id
              and k.status == AccessKey.Status.ACTIVE and k.removed_at is None]
    if not wanted:
        return {}
    start = now.astimezone(UTC).date() - timedelta(days=limits.evidence_days - 1)
    found: defaultdict[str, list[AddressDay]] = defaultdict(list)
    for row in (KeyUsageAddress.objects.filter(access_key_id__in=wanted, day__gte=start)
                .order_by().values_list(*ADDRESS_FIELDS, named=True)):
        found[row.access_key_id].append(AddressDay(
            day=row.day, address=row.address, first_seen=row.first_seen,
            last_seen=row.last_seen, events=row.events,
            actions=tuple((str(action), int(events)) for action, events
                          in (row.actions or {}).items()),
            via_aws_service=row.via_aws_service, vpc_endpoint_id=row.vpc_endpoint_id))
    return {key_id: tuple(rows) for key_id, rows in found.items()}
