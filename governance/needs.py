"""What each open finding asks of a key's owner: the fix in words, and where to act.

Shared by the pages (my keys, gaps) and the reminders, so an e-mail and the page it links to
give the same advice. The account's findings (``policy.ACCOUNT_CODES``: no audit trail) are
not asked of key owners, who cannot fix them: they go to the security team.
"""

from dataclasses import dataclass

from django.urls import reverse

from .access import key_can_be_justified
from .models import AccessKey
from .policy import ACCOUNT_CODES, RULES, Severity

# Findings fixed on the registration form: the link's label and where on the form.
REGISTRATION_LINKS = {"NO_PURPOSE": ("Register purpose", ""),
                      "UNEXPECTED_SOURCE": ("Declare sources", "#sources")}


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
    """What each open, not excepted finding of the key's own asks of the owner, worst first,
    with links; ``can_act``: whether the person may manage the key (the links are offered
    only for a key that can be justified: ``access.key_can_be_justified``, never a root key)."""
    can_act = can_act and key_can_be_justified(key)
    requests = {e.code: e for e in key.open_exceptions}
    needs = []
    for finding in key.open_findings:
        if finding.exception_id or finding.code in ACCOUNT_CODES:
            continue
        rule, links = RULES.get(finding.code), []
        if finding.code in REGISTRATION_LINKS and can_act:
            label, anchor = REGISTRATION_LINKS[finding.code]
            links.append((label, reverse("key-register", args=[key.pk]) + anchor))
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
