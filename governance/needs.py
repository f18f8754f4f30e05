"""What each open finding asks of a key's owner: the fix in words, and where to act.

Shared by the pages (my keys, gaps) and the reminders, so an e-mail and the page it links to
give the same advice.
"""

from dataclasses import dataclass

from django.urls import reverse

from .models import AccessKey
from .policy import RULES, Severity


def fix_for(code: str, default: str) -> str:
    """What the rule ``code`` asks of the key's owner, or ``default`` for a code no rule has."""
    rule = RULES.get(code)
    return rule.fix if rule is not None else default


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
        text = fix_for(finding.code, finding.code)
        needs.append(Need(finding.code, finding.severity, text, finding.reason, tuple(links)))
    return sorted(needs, key=lambda n: -Severity(n.severity).rank())
