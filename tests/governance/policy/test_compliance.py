"""Compliance and the five-element scorecard, from finding codes and exceptions."""

import pytest

from governance.policy import (
    RULES,
    Compliance,
    Element,
    Finding,
    Verdict,
    compliance,
    scorecard,
)


def finding(code: str, reason: str = "") -> Finding:
    rule = RULES[code]
    return Finding(code, rule.element, rule.severity, rule.waivable, reason or f"why {code}")


@pytest.mark.parametrize(("open_codes", "excepted", "expected"), [
    ([], [], Compliance.COMPLIANT),
    (["ROTATION_DUE"], [], Compliance.COMPLIANT),  # low never affects compliance
    (["ROTATION_DUE"], ["UNUSED"], Compliance.COMPLIANT),
    (["UNUSED"], [], Compliance.NON_COMPLIANT),
    (["UNUSED"], ["UNUSED"], Compliance.EXCEPTED),
    (["UNUSED", "ROTATION_DUE"], ["UNUSED"], Compliance.EXCEPTED),
    (["UNUSED", "ADMIN_PRIVILEGE"], ["UNUSED", "ADMIN_PRIVILEGE"], Compliance.EXCEPTED),
    (["UNUSED", "ADMIN_PRIVILEGE"], ["UNUSED"], Compliance.NON_COMPLIANT),
    (["UNUSED", "NO_OWNER"], ["UNUSED"], Compliance.NON_COMPLIANT),
    # not waivable: an exception passed in by mistake covers nothing
    (["NO_OWNER"], ["NO_OWNER"], Compliance.NON_COMPLIANT),
    (["ROOT_KEY"], ["ROOT_KEY"], Compliance.NON_COMPLIANT),
    (["KEY_EXPOSED"], ["KEY_EXPOSED"], Compliance.NON_COMPLIANT),
    (["PRIVILEGE_ESCALATION"], ["PRIVILEGE_ESCALATION"], Compliance.EXCEPTED),
    (["NO_PURPOSE"], ["NO_PURPOSE"], Compliance.NON_COMPLIANT),
    # a code the rules do not know is never taken for harmless
    (["SOMETHING_NEW"], ["SOMETHING_NEW"], Compliance.NON_COMPLIANT),
])
def test_compliance(open_codes, excepted, expected):
    assert compliance(open_codes, excepted) == expected


def test_compliance_accepts_any_iterable_of_codes():
    open_findings = {"UNUSED": finding("UNUSED"), "ROTATION_DUE": finding("ROTATION_DUE")}
    assert compliance(open_findings, iter({"UNUSED"})) == Compliance.EXCEPTED
    assert compliance(open_findings, iter({"UNUSED"})).value == "excepted"


def test_scorecard_of_a_clean_key_passes_every_element():
    card = scorecard([], [])
    assert list(card) == list(Element)
    assert all(card[e] == (Verdict.PASS, ()) for e in Element)


def test_scorecard_low_finding_passes_with_a_notice():
    card = scorecard([finding("ROTATION_DUE", "rotate within 5 days")], [])
    assert card[Element.UPDATES] == (Verdict.PASS, ("ROTATION_DUE: rotate within 5 days",))


def test_scorecard_excepted_element():
    card = scorecard([finding("UNUSED", "idle 60 days"), finding("ROTATION_DUE")], ["UNUSED"])
    assert card[Element.UPDATES] == (Verdict.EXCEPTED, ("UNUSED: idle 60 days",))


def test_scorecard_mixed_element_fails_on_the_unexcepted_findings_only():
    findings = [finding("UNUSED", "idle"), finding("ROTATION_OVERDUE", "270 days"),
                finding("ADMIN_PRIVILEGE", "* on *"), finding("NO_AUDIT_TRAIL", "none")]
    card = scorecard(findings, ["UNUSED", "ADMIN_PRIVILEGE"])
    assert card[Element.UPDATES] == (Verdict.FAIL, ("ROTATION_OVERDUE: 270 days",))
    assert card[Element.PERMISSIONS] == (Verdict.EXCEPTED, ("ADMIN_PRIVILEGE: * on *",))
    assert card[Element.AUDITING] == (Verdict.FAIL, ("NO_AUDIT_TRAIL: none",))
    assert card[Element.SOURCE] == (Verdict.PASS, ())
    assert card[Element.PURPOSE] == (Verdict.PASS, ())


def test_scorecard_lists_worst_first():
    findings = [finding("MULTIPLE_ACTIVE_KEYS", "2 keys"), finding("NO_OWNER", "no tag"),
                finding("HUMAN_USER_KEY", "password")]
    verdict, reasons = scorecard(findings, [])[Element.PURPOSE]
    assert verdict == Verdict.FAIL
    assert reasons == ("NO_OWNER: no tag", "HUMAN_USER_KEY: password",
                       "MULTIPLE_ACTIVE_KEYS: 2 keys")


def test_scorecard_ignores_exceptions_on_unwaivable_rules():
    card = scorecard([finding("NO_OWNER"), finding("ROOT_KEY")], ["NO_OWNER", "ROOT_KEY"])
    assert card[Element.PURPOSE][0] == Verdict.FAIL
    assert card[Element.PERMISSIONS][0] == Verdict.FAIL


def test_scorecard_agrees_with_compliance():
    findings = [finding("UNUSED"), finding("NO_SOURCE_RESTRICTION"), finding("ROTATION_DUE")]
    for excepted in ([], ["UNUSED"], ["UNUSED", "NO_SOURCE_RESTRICTION"]):
        verdicts = {v for v, _ in scorecard(findings, excepted).values()}
        state = compliance([f.code for f in findings], excepted)
        assert (Verdict.FAIL in verdicts) == (state == Compliance.NON_COMPLIANT)
