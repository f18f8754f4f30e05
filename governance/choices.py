"""The judgement's vocabulary as Django choices, derived from ``governance.policy``.

The rules (``RULES``) and their enums are defined once, in the pure policy module; the model
fields that store a finding's code, element and severity and a key's compliance take their
choices from here, so a new rule or state needs no second list to stay in step with.
"""

from django.db import models

from .policy import RULES, Element, Severity
from .policy import Compliance as PolicyCompliance

FINDING_CODE_CHOICES = [(code, rule.title) for code, rule in RULES.items()]
ELEMENT_CHOICES = [(element.value, element.value.title()) for element in Element]
SEVERITY_CHOICES = [(severity.value, severity.value.title()) for severity in Severity]

# ``compliant`` -> "Compliant", ``non_compliant`` -> "Non-compliant".
Compliance = models.TextChoices("Compliance", [
    (state.name, (state.value, state.value.replace("_", "-").capitalize()))
    for state in PolicyCompliance])
