"""The stored vocabulary (finding code, element, severity, compliance) is the policy's."""

from governance import policy
from governance.models import AccessKey, Finding


def choice_values(model, field: str) -> list[str]:
    return [value for value, _label in model._meta.get_field(field).choices]


def test_finding_fields_accept_exactly_what_the_rules_produce():
    assert choice_values(Finding, "code") == list(policy.RULES)
    assert choice_values(Finding, "element") == [e.value for e in policy.Element]
    assert choice_values(Finding, "severity") == [s.value for s in policy.Severity]


def test_a_finding_shows_its_rules_title():
    assert Finding(code="ROTATION_OVERDUE").get_code_display() == "Rotation overdue"


def test_key_compliance_is_the_policys_three_states_with_their_labels():
    assert AccessKey._meta.get_field("compliance").choices == [
        ("compliant", "Compliant"), ("excepted", "Excepted"), ("non_compliant", "Non-compliant")]
    assert [s.value for s in policy.Compliance] == ["compliant", "excepted", "non_compliant"]
