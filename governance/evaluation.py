"""Turn stored facts into stored judgement: findings, compliance and resolved owners.

Loads everything one evaluation needs in a fixed number of queries (keys, their users'
active-key counts, policy documents, people, registrations, exceptions, open findings),
runs the pure rules of ``policy`` on each key, and writes only what changed: new findings
open, vanished ones resolve (kept, with the time), and the key's summary columns are
refreshed for lists and exports.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Person

from .iam_policy import PolicySource, analyse_permissions
from .models import (
    ROOT_USER_NAME,
    AccessKey,
    ExceptionRequest,
    Finding,
    PolicyDocument,
    Registration,
)
from .ownership import PersonRef, resolve_owner
from .policy import (
    RULES,
    KeyFacts,
    OwnerFacts,
    PurposeFacts,
    Thresholds,
    compliance,
    evaluate_key,
)

BATCH = 1000
KEY_SUMMARY_FIELDS = ["owner", "owner_gap", "compliance", "open_codes", "evaluated_at"]


@dataclass
class EvaluationResult:
    keys: int = 0
    opened: int = 0
    resolved: int = 0
    updated: int = 0
    open_by_code: Counter = field(default_factory=Counter)


def thresholds() -> Thresholds:
    return Thresholds(
        rotation_max_days=settings.KEYLEDGER_ROTATION_MAX_DAYS,
        rotation_warning_days=settings.KEYLEDGER_ROTATION_WARNING_DAYS,
        unused_days=settings.KEYLEDGER_UNUSED_DAYS,
    )


def evaluate_keys(*, keys=None, now: datetime | None = None) -> EvaluationResult:
    """Re-evaluate ``keys`` (a queryset; default: every key). Call inside a transaction."""
    now = now or timezone.now()
    scope = (keys if keys is not None else AccessKey.objects.all()).select_related(
        "user", "account", "assigned_owner")
    keys = list(scope)
    context = _Context.load(keys, now)
    result = EvaluationResult(keys=len(keys))
    new_findings, changed_findings, changed_keys = [], [], []
    for key in keys:
        findings = context.findings_for(key, now)
        wanted = {f.code: f for f in findings}
        covered = {code for code in wanted if (key.pk, code) in context.exceptions}
        for code, finding in wanted.items():
            exception_id = context.exceptions.get((key.pk, code))
            row = context.open_findings.pop((key.pk, code), None)
            if row is None:
                new_findings.append(Finding(
                    key=key, code=code, element=finding.element, severity=finding.severity,
                    reason=finding.reason[:500], opened_at=now, exception_id=exception_id))
            elif (row.reason, row.severity, row.exception_id) != (
                    finding.reason[:500], finding.severity, exception_id):
                row.reason, row.severity = finding.reason[:500], finding.severity
                row.exception_id = exception_id
                changed_findings.append(row)
            if code not in covered:
                result.open_by_code[code] += 1
        ownership = context.ownership(key)
        summary = {
            "owner_id": ownership.owner.id if ownership.owner else None,
            "owner_gap": ownership.gap[:300],
            "compliance": compliance(wanted, covered).value if not key.removed_at else "",
            "open_codes": ";".join(sorted(set(wanted) - covered)),
        }
        if any(getattr(key, name) != value for name, value in summary.items()):
            for name, value in summary.items():
                setattr(key, name, value)
            key.evaluated_at = now
            changed_keys.append(key)
    resolved = list(context.open_findings.values())  # open before, not firing any more
    for row in resolved:
        row.resolved_at = now
    Finding.objects.bulk_create(new_findings, batch_size=BATCH)
    Finding.objects.bulk_update(changed_findings, ["reason", "severity", "exception"],
                                batch_size=BATCH)
    Finding.objects.bulk_update(resolved, ["resolved_at"], batch_size=BATCH)
    AccessKey.objects.bulk_update(changed_keys, KEY_SUMMARY_FIELDS, batch_size=BATCH)
    result.opened, result.resolved = len(new_findings), len(resolved)
    result.updated = len(changed_findings) + len(changed_keys)
    return result


class _Context:
    """Everything the rules need about a set of keys, loaded in bulk."""

    @classmethod
    def load(cls, keys: list[AccessKey], now: datetime) -> "_Context":
        self = cls()
        self.thresholds = thresholds()
        self.tag_keys = list(settings.KEYLEDGER_OWNER_TAG_KEYS)
        key_ids = [k.pk for k in keys]
        user_ids = {k.user_id for k in keys}
        self.active_keys = dict(
            AccessKey.objects.filter(user_id__in=user_ids, removed_at__isnull=True,
                                     status=AccessKey.Status.ACTIVE)
            .values_list("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
        digests = {p["digest"] for k in keys for p in k.user.policies if p.get("digest")}
        self.documents = {}
        digest_list = list(digests)
        for start in range(0, len(digest_list), BATCH):
            self.documents.update(PolicyDocument.objects.filter(
                digest__in=digest_list[start:start + BATCH]).values_list("digest", "document"))
        self.people = {
            p.email.lower(): PersonRef(p.pk, p.email, p.is_active)
            for p in Person.objects.only("id", "email", "is_active")
        }
        self.people_by_id = {p.id: p for p in self.people.values()}
        self.registrations = dict(
            Registration.objects.filter(key_id__in=key_ids, superseded_at__isnull=True)
            .values_list("key_id", "review_due_on"))
        self.exceptions = {
            (e.key_id, e.code): e.pk
            for e in ExceptionRequest.objects.filter(
                key_id__in=key_ids, status=ExceptionRequest.Status.APPROVED,
                expires_on__gte=now.date()).only("id", "key_id", "code")
        }
        self.open_findings = {
            (f.key_id, f.code): f
            for f in Finding.objects.filter(key_id__in=key_ids, resolved_at__isnull=True)
        }
        self._verdicts = {}
        return self

    def ownership(self, key: AccessKey):
        assigned = self.people_by_id.get(key.assigned_owner_id)
        return resolve_owner(assigned=assigned, tags=key.user.tags or {},
                             tag_keys=self.tag_keys, people_by_email=self.people)

    def permissions(self, user):
        """The permission verdict of a user's policies, shared by users with the same set."""
        refs = tuple((p.get("source", ""), p.get("name", ""), p.get("digest", ""),
                      p.get("group", "")) for p in user.policies)
        if refs not in self._verdicts:
            self._verdicts[refs] = analyse_permissions(
                PolicySource(source, name, self.documents.get(digest, {}), group=group)
                for source, name, digest, group in refs if digest)
        return self._verdicts[refs]

    def findings_for(self, key: AccessKey, now: datetime):
        if key.removed_at is not None:
            return []
        is_root = key.user.name == ROOT_USER_NAME
        ownership = self.ownership(key)
        review_due = self.registrations.get(key.pk)
        facts = KeyFacts(
            is_root=is_root, status=key.status, created_at=key.created_at,
            last_used_at=key.last_used_at,
            user_active_keys=self.active_keys.get(key.user_id, 0),
            user_has_password=key.user.password_enabled and not is_root,
            permissions=None if is_root else self.permissions(key.user),
            owner=OwnerFacts(email=ownership.owner.email if ownership.owner else "",
                             gap_reason=ownership.gap),
            purpose=PurposeFacts(registered=review_due is not None, review_due_on=review_due),
            account_trail_logging=key.account.cloudtrail_logging,
        )
        return [f for f in evaluate_key(facts, now=now, thresholds=self.thresholds)
                if f.code in RULES]


def keys_of_people(person_ids) -> Q:
    """Keys whose ownership may change when these people change (assigned, resolved)."""
    return Q(assigned_owner_id__in=person_ids) | Q(owner_id__in=person_ids)
