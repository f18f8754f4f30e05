"""The judgement's vocabulary as Django choices, derived from ``governance.policy``.

The rules (``RULES``) and their enums are defined once, in the pure policy module; the model
fields that store a finding's code, element and severity and a key's compliance take their
choices from here, so a new rule or state needs no second list to stay in step with.
"""

from django.db import models
from django.db.models import Case, Value, When

from .policy import ACCOUNT_CODES, RULES, Element, Severity
from .policy import Compliance as PolicyCompliance

FINDING_CODE_CHOICES = [(code, rule.title) for code, rule in RULES.items()]
ELEMENT_CHOICES = [(element.value, element.value.title()) for element in Element]
SEVERITY_CHOICES = [(severity.value, severity.value.title()) for severity in Severity]
# ``AccessKey.risk`` (a severity's rank) back to the severity's name.
RISK_SEVERITY = {severity.rank(): severity.value for severity in Severity}

# ``compliant`` -> "Compliant", ``non_compliant`` -> "Non-compliant".
# django-stubs does not type the functional API with (name, (value, label)) members, which
# Django documents and accepts: the ignore is for that gap only.
Compliance = models.TextChoices("Compliance", [  # type: ignore[call-overload]
    (state.name, (state.value, state.value.replace("_", "-").capitalize()))
    for state in PolicyCompliance])


def key_risk_expression() -> Case:
    """A key's risk from its open, not excepted codes (``open_codes``): the rank of the worst
    key finding's severity (critical 4 ... low 1; 0 when none), leaving out the account's
    findings (``ACCOUNT_CODES``), which its owner cannot fix.

    Stored by the database as a generated column, so the inventory's default order (risk,
    then age) reads an index instead of judging 100,000 keys on every page.
    """
    by_rank = sorted((code for code in RULES if code not in ACCOUNT_CODES),
                     key=lambda code: (-RULES[code].severity.rank(), code))
    return Case(*(When(open_codes__contains=code, then=Value(RULES[code].severity.rank()))
                  for code in by_rank), default=Value(0))
