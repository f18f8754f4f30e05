"""What each open finding asks of a key's owner: the fix in words, and where to act.

Shared by the pages (my keys, gaps) and the reminders, so an e-mail and the page it links to
give the same advice.
"""

from dataclasses import dataclass

from django.urls import reverse

from .models import AccessKey
from .policy import RULES, Severity

FIXES = {
    "ROOT_KEY": "Delete the root user's access key.",
    "KEY_EXPOSED": "Replace the key now: create a new one, switch the workload over, deactivate "
                   "and delete this one; then check CloudTrail (or ask AWS Support) for what "
                   "it did while it was public.",
    "ADMIN_PRIVILEGE": "Cut its permissions down to what the workload needs (no * on *).",
    "PRIVILEGE_ESCALATION": "Remove the path to admin the finding names (the IAM write "
                            "actions, or iam:PassRole with a service that runs code), or "
                            "confine it to the resources the workload needs.",
    "NO_SOURCE_RESTRICTION": "Confine it to known sources (aws:SourceIp / aws:SourceVpce).",
    "ROTATION_OVERDUE": "Rotate it: create a new key, switch the workload over, delete this one.",
    "ROTATION_DUE": "Rotation is due soon: plan the switch to a new key.",
    "UNUSED": "Deactivate it if nothing uses it any more.",
    "MULTIPLE_ACTIVE_KEYS": "Keep one active key per IAM user: deactivate the spare.",
    "HUMAN_USER_KEY": "A person should sign in through IAM Identity Center, not use a key.",
    "NO_OWNER": "Name an owner.",
    "NO_PURPOSE": "Register its purpose and why a role, Identity Center or STS cannot serve.",
    "NO_AUDIT_TRAIL": "The account needs a logging multi-region CloudTrail trail.",
}


@dataclass(frozen=True)
class Need:
    """One thing a key's owner must do, and where to do it."""

    code: str
    severity: str
    text: str
    reason: str
    links: tuple[tuple[str, str], ...] = ()


def key_needs(key: AccessKey, *, can_act: bool) -> list[Need]:
    """What each open, not excepted finding asks of the owner, worst first, with links."""
    requests = {e.code: e for e in key.open_exceptions}
    needs = []
    for finding in key.open_findings:
        if finding.exception_id:
            continue
        rule, links = RULES.get(finding.code), []
        if finding.code == "NO_PURPOSE" and can_act:
            links.append(("Register purpose", reverse("key-register", args=[key.pk])))
        request = requests.get(finding.code)
        if request is not None:
            links.append((f"Exception {request.get_status_display().lower()}",
                          reverse("exception-detail", args=[request.pk])))
        elif rule is not None and rule.waivable and can_act:
            links.append(("Request an exception",
                          f"{reverse('exception-new', args=[key.pk])}?code={finding.code}"))
        text = FIXES.get(finding.code, rule.title if rule else finding.code)
        needs.append(Need(finding.code, finding.severity, text, finding.reason, tuple(links)))
    return sorted(needs, key=lambda n: -Severity(n.severity).rank())
