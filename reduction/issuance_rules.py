"""What an issuance request must satisfy: the proposed policies judged as ``check_policy``
judges them, declared sources parsed as a registration's are, and who may decide it.

Kept apart from the services so that the form's "Check" button, the filing service and the
detail page all judge with one function, and the decision rule is the exceptions' one
(``governance.access.manager_or_security_refusal``) rather than a copy.
"""

import re
from dataclasses import dataclass

from django.conf import settings

from accounts.roles import is_security
from governance.access import manager_or_security_refusal
from governance.iam_policy import analyse_permissions
from governance.policy_input import PolicyInputError, policies_from_file, verdict_fields
from governance.sources import SourceError, parse_sources, split_sources

# IAM's user-name alphabet and length (CreateUser): anything else cannot name the user.
IAM_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
MAX_POLICY_CHARS = 20_000


@dataclass(frozen=True)
class JudgedPolicies:
    """The proposed policies as stored (``[{"name", "kind", "document"}]``) and the verdict
    (``check_policy --json``'s fields without ``file``, plus ``warnings``)."""

    policies: list[dict]
    verdict: dict


def judge_policies(text: str) -> JudgedPolicies:
    """Judge a textarea's policies: one policy document, check_policy's list of
    ``{"name", "kind", "document"}``, or ``{"policies": [...]}``. Raises ``ValueError``
    naming what is wrong and where (the JSON error, the field IAM would refuse)."""
    if not text.strip():
        raise ValueError("paste the policy document (or check_policy's list of policies)")
    if len(text) > MAX_POLICY_CHARS:
        raise ValueError(f"at most {MAX_POLICY_CHARS:,} characters: IAM's largest policy is "
                         "10,240")
    try:
        read = policies_from_file(text.encode("utf-8"), name="proposed")
    except PolicyInputError as problem:
        where = f"{problem.where}: " if problem.where else ""
        # The reader speaks of files (check_policy's FILE); here it is the pasted policy.
        said = problem.problem.replace("the file", "the policy", 1)
        raise ValueError(f"{where}{said}") from None
    verdict = verdict_fields(analyse_permissions(read.policies))
    return JudgedPolicies(
        policies=[{"name": p.name, "kind": p.source, "document": p.document}
                  for p in read.policies],
        verdict={**verdict, "warnings": list(read.warnings)})


def declared_sources(text: str) -> list[str]:
    """The declared sources of a textarea, canonical (``governance.sources``); at least one,
    since a key usable from anywhere fails the Source element. Raises ``ValueError`` naming
    the bad entry."""
    try:
        sources = parse_sources(split_sources(text))
    except SourceError as problem:
        raise ValueError(str(problem)) from None
    if not sources:
        raise ValueError("declare at least one CIDR, VPC id or VPC endpoint id the key will "
                         "be used from")
    return [source.value for source in sources]


def issuance_decision_refusal(actor, request) -> str:
    """Why ``actor`` may not approve or reject ``request``, or '' if they may.

    Never the requester. ``KEYLEDGER_ISSUANCE_APPROVERS`` ``security`` (default): only the
    security team; ``manager``: the exceptions' rule (the requester's manager, else any
    manager, or the security team).
    """
    if not actor.is_active:
        return "inactive people cannot decide issuance requests"
    if actor.pk == request.requested_by_id:
        return "you cannot decide your own issuance request"
    if settings.KEYLEDGER_ISSUANCE_APPROVERS == "manager":
        return manager_or_security_refusal(actor, request.requested_by)
    return "" if is_security(actor) else "only the security team can decide issuance requests"


def issuance_withdraw_refusal(actor, request) -> str:
    """The requester or the security team withdraw a request not yet decided."""
    if actor.pk == request.requested_by_id or is_security(actor):
        return ""
    return "only the requester or the security team can withdraw a request"
