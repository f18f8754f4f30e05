"""The finding rules of DESIGN.md at every boundary: pure facts in, findings out, no database."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from governance.iam_policy import PermissionVerdict
from governance.policy import (
    RULES,
    AddressDay,
    Compliance,
    Element,
    KeyFacts,
    OwnerFacts,
    PurposeFacts,
    Severity,
    Thresholds,
    Verdict,
    age_days,
    compliance,
    evaluate_key,
    scorecard,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CONFINED = PermissionVerdict(False, "no Allow statement grants every action on every resource",
                             True, "inline policy \"guard\" (user) denies every action ...")


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def clean(**overrides) -> KeyFacts:
    """A key with nothing wrong; each test spoils one fact."""
    facts = KeyFacts(
        is_root=False, status="Active", created_at=days_ago(10), last_used_at=days_ago(1),
        user_active_keys=1, user_has_password=False, permissions=CONFINED,
        owner=OwnerFacts(email="chen.wei@example.com"),
        purpose=PurposeFacts(registered=True, review_due_on=date(2027, 3, 1)),
        account_trail_logging=True,
    )
    return replace(facts, **overrides)


def codes(facts: KeyFacts, **kwargs) -> set[str]:
    return {f.code for f in evaluate_key(facts, now=NOW, **kwargs)}


def only(facts: KeyFacts, code: str, **kwargs):
    found = [f for f in evaluate_key(facts, now=NOW, **kwargs) if f.code == code]
    assert len(found) <= 1
    return found[0] if found else None


# -- the public contract -------------------------------------------------------------------

DESIGN_TABLE = [
    ("ROOT_KEY", Element.PERMISSIONS, Severity.CRITICAL, False),
    ("KEY_EXPOSED", Element.UPDATES, Severity.CRITICAL, False),
    ("ADMIN_PRIVILEGE", Element.PERMISSIONS, Severity.HIGH, True),
    ("PRIVILEGE_ESCALATION", Element.PERMISSIONS, Severity.HIGH, True),
    ("NO_SOURCE_RESTRICTION", Element.SOURCE, Severity.MEDIUM, True),
    ("UNEXPECTED_SOURCE", Element.SOURCE, Severity.HIGH, True),
    ("ROTATION_OVERDUE", Element.UPDATES, Severity.HIGH, True),
    ("ROTATION_DUE", Element.UPDATES, Severity.LOW, False),
    ("UNUSED", Element.UPDATES, Severity.MEDIUM, True),
    ("MULTIPLE_ACTIVE_KEYS", Element.PURPOSE, Severity.MEDIUM, True),
    ("HUMAN_USER_KEY", Element.PURPOSE, Severity.MEDIUM, True),
    ("NO_OWNER", Element.PURPOSE, Severity.HIGH, False),
    ("NO_PURPOSE", Element.PURPOSE, Severity.MEDIUM, False),
    ("NO_AUDIT_TRAIL", Element.AUDITING, Severity.MEDIUM, True),
]


def test_rules_are_exactly_the_design_table():
    assert set(RULES) == {row[0] for row in DESIGN_TABLE}
    assert len(RULES) == 14


@pytest.mark.parametrize(("code", "element", "severity", "waivable"), DESIGN_TABLE)
def test_rule_element_severity_and_waivable_match_design(code, element, severity, waivable):
    rule = RULES[code]
    assert (rule.code, rule.element, rule.severity, rule.waivable) == (
        code, element, severity, waivable)
    assert rule.title
    assert rule.fix.endswith(".")  # the advice the pages and reminders give, a sentence


def test_enum_values_are_the_stored_strings():
    assert [e.value for e in Element] == [
        "purpose", "permissions", "source", "updates", "auditing"]
    assert [s.value for s in Severity] == ["critical", "high", "medium", "low"]


def test_severity_rank_orders_worst_first():
    ranked = sorted(Severity, key=Severity.rank, reverse=True)
    assert ranked == [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]
    assert [s.above_low for s in ranked] == [True, True, True, False]


def test_a_clean_key_has_no_findings():
    assert evaluate_key(clean(), now=NOW) == []


def test_findings_are_sorted_by_code_and_carry_their_rule():
    facts = clean(created_at=days_ago(200), last_used_at=days_ago(100), user_active_keys=2,
                  owner=OwnerFacts(gap_reason="no owner tag"), account_trail_logging=False)
    found = evaluate_key(facts, now=NOW)
    assert [f.code for f in found] == sorted(f.code for f in found)
    assert [f.code for f in found] == [
        "MULTIPLE_ACTIVE_KEYS", "NO_AUDIT_TRAIL", "NO_OWNER", "ROTATION_OVERDUE", "UNUSED"]
    for f in found:
        rule = RULES[f.code]
        assert (f.element, f.severity, f.waivable) == (rule.element, rule.severity, rule.waivable)
        assert f.reason and "\n" not in f.reason


# -- ages ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(0), 0),
    (timedelta(hours=23, minutes=59), 0),
    (timedelta(days=1), 1),
    (timedelta(days=90, hours=23), 90),
    (timedelta(days=91), 91),
    (timedelta(hours=-1), -1),
])
def test_age_is_whole_days(delta, expected):
    assert age_days(NOW - delta, NOW) == expected


# -- Updates: rotation ---------------------------------------------------------------------

@pytest.mark.parametrize(("age", "expected"), [
    (0, set()),
    (76, set()),
    (77, {"ROTATION_DUE"}),
    (89, {"ROTATION_DUE"}),
    (90, {"ROTATION_DUE"}),
    (91, {"ROTATION_OVERDUE"}),
    (270, {"ROTATION_OVERDUE"}),
])
def test_rotation_boundaries(age, expected):
    found = codes(clean(created_at=days_ago(age), last_used_at=days_ago(0)))
    assert found & {"ROTATION_DUE", "ROTATION_OVERDUE"} == expected


def test_rotation_boundary_is_whole_days_not_hours():
    almost_91 = NOW - timedelta(days=90, hours=23, minutes=59)
    assert only(clean(created_at=almost_91), "ROTATION_OVERDUE") is None
    assert only(clean(created_at=almost_91), "ROTATION_DUE") is not None


@pytest.mark.parametrize(("age", "expected"), [
    (23, set()), (24, {"ROTATION_DUE"}), (30, {"ROTATION_DUE"}), (31, {"ROTATION_OVERDUE"}),
])
def test_rotation_follows_the_thresholds_given(age, expected):
    t = Thresholds(rotation_max_days=30, rotation_warning_days=7)
    found = codes(clean(created_at=days_ago(age), last_used_at=days_ago(0)), thresholds=t)
    assert found & {"ROTATION_DUE", "ROTATION_OVERDUE"} == expected


def test_overdue_reason_gives_date_age_and_limit():
    finding = only(clean(created_at=datetime(2026, 3, 3, 9, tzinfo=UTC)), "ROTATION_OVERDUE")
    assert finding.reason == "created 2026-03-03, 270 days ago; limit 90"


def test_due_reason_says_how_long_is_left():
    finding = only(clean(created_at=days_ago(80)), "ROTATION_DUE")
    assert finding.reason == "created 2026-09-09, 80 days ago; rotate within 10 days (limit 90)"


def test_unknown_creation_date_raises_no_rotation_finding():
    found = codes(clean(created_at=None, last_used_at=days_ago(1)))
    assert not found & {"ROTATION_DUE", "ROTATION_OVERDUE"}


def test_reason_dates_are_utc():
    tokyo = timezone(timedelta(hours=9))
    created = datetime(2026, 3, 4, 8, 0, tzinfo=tokyo)  # 2026-03-03 23:00 UTC
    assert only(clean(created_at=created), "ROTATION_OVERDUE").reason.startswith(
        "created 2026-03-03,")


# -- Updates: unused -----------------------------------------------------------------------

@pytest.mark.parametrize(("created", "last_used", "fires"), [
    (100, 45, False),
    (100, 46, True),
    (100, 0, False),
    (45, None, False),   # never used: counted from creation
    (46, None, True),
    (None, 46, True),    # creation unknown, last use known
    (None, 45, False),
    (None, None, False),  # nothing known: say nothing
])
def test_unused_boundaries(created, last_used, fires):
    facts = clean(created_at=None if created is None else days_ago(created),
                  last_used_at=None if last_used is None else days_ago(last_used))
    assert ("UNUSED" in codes(facts)) is fires


def test_unused_reasons_say_since_when():
    stale = only(clean(created_at=days_ago(200), last_used_at=datetime(2026, 8, 1, tzinfo=UTC)),
                 "UNUSED")
    assert stale.reason == "last used 2026-08-01, 119 days ago; limit 45"
    never = only(clean(created_at=days_ago(60), last_used_at=None), "UNUSED")
    assert never.reason == "never used since creation 2026-09-29, 60 days ago; limit 45"


def test_unused_follows_the_threshold_given():
    facts = clean(last_used_at=days_ago(20))
    assert "UNUSED" in codes(facts, thresholds=Thresholds(unused_days=19))
    assert "UNUSED" not in codes(facts, thresholds=Thresholds(unused_days=20))


# -- inactive and root keys ----------------------------------------------------------------

def everything_wrong(**overrides) -> KeyFacts:
    bad = dict(
        created_at=days_ago(400), last_used_at=days_ago(300), user_active_keys=2,
        user_has_password=True,
        permissions=PermissionVerdict(True, "allows * on *", False, "no guard"),
        owner=OwnerFacts(gap_reason="no owner tag"), purpose=PurposeFacts(),
        account_trail_logging=False, quarantined_by=QUARANTINED,
        # a lapsed registration's declared office, and a call from elsewhere
        declared_sources=("203.0.113.0/24",),
        addresses=(AddressDay(NOW.date(), "198.51.100.7", NOW, NOW, 1),))
    return clean(**{**bad, **overrides})


def test_inactive_key_raises_nothing_however_bad():
    assert evaluate_key(everything_wrong(status="Inactive"), now=NOW) == []
    assert evaluate_key(everything_wrong(status="Inactive", is_root=True), now=NOW) == []


def test_everything_wrong_on_an_active_user_key_fires_every_user_rule():
    # ROTATION_DUE gives way to ROTATION_OVERDUE, PRIVILEGE_ESCALATION to ADMIN_PRIVILEGE
    assert codes(everything_wrong()) == set(RULES) - {"ROOT_KEY", "ROTATION_DUE",
                                                      "PRIVILEGE_ESCALATION"}
    climbing = PermissionVerdict(False, "scoped", False, "no guard", True, "can PutUserPolicy")
    assert codes(everything_wrong(permissions=climbing)) == set(RULES) - {
        "ROOT_KEY", "ROTATION_DUE", "ADMIN_PRIVILEGE"}


def test_root_key_gets_root_rotation_unused_and_audit_only():
    facts = everything_wrong(is_root=True, permissions=None)  # quarantined_by set, too
    assert codes(facts) == {"ROOT_KEY", "ROTATION_OVERDUE", "UNUSED", "NO_AUDIT_TRAIL"}


def test_fresh_root_key_in_a_logged_account_still_fires_root_key():
    found = evaluate_key(clean(is_root=True, permissions=None), now=NOW)
    assert [f.code for f in found] == ["ROOT_KEY"]
    assert found[0].severity == Severity.CRITICAL and not found[0].waivable


# -- Purpose -------------------------------------------------------------------------------

@pytest.mark.parametrize(("active_keys", "fires"), [(0, False), (1, False), (2, True), (3, True)])
def test_multiple_active_keys(active_keys, fires):
    finding = only(clean(user_active_keys=active_keys), "MULTIPLE_ACTIVE_KEYS")
    assert (finding is not None) is fires
    if fires:
        assert f"{active_keys} active keys" in finding.reason


def test_console_password_means_a_person_uses_the_key():
    assert only(clean(user_has_password=True), "HUMAN_USER_KEY") is not None
    assert only(clean(user_has_password=False), "HUMAN_USER_KEY") is None


@pytest.mark.parametrize(("owner", "reason"), [
    (OwnerFacts(gap_reason="no owner tag"), "no owner tag"),
    (OwnerFacts(gap_reason='tag owner names unknown person "x@y"'),
     'tag owner names unknown person "x@y"'),
    (OwnerFacts(gap_reason="owner ivan@example.com has left"), "owner ivan@example.com has left"),
    (OwnerFacts(), "no owner resolved"),
])
def test_no_owner_says_why(owner, reason):
    assert only(clean(owner=owner), "NO_OWNER").reason == reason


@pytest.mark.parametrize(("purpose", "reason"), [
    (PurposeFacts(), "no purpose registered"),
    (PurposeFacts(registered=False, review_due_on=date(2027, 1, 1)), "no purpose registered"),
    (PurposeFacts(True, date(2026, 11, 18)), "purpose review was due 2026-11-18, 10 days ago"),
    (PurposeFacts(True, date(2026, 11, 28)), "purpose review was due 2026-11-28, 0 days ago"),
    (PurposeFacts(True, date(2026, 11, 29)), None),
    (PurposeFacts(True, None), None),
])
def test_purpose_is_current_until_its_review_date(purpose, reason):
    finding = only(clean(purpose=purpose), "NO_PURPOSE")
    assert (finding.reason if finding else None) == reason


# -- Auditing ------------------------------------------------------------------------------

@pytest.mark.parametrize(("logging", "reason"), [
    (True, None),
    (False, "no multi-region CloudTrail trail is logging in the key's account"),
    (None, "CloudTrail status unknown: not yet read from the account"),
])
def test_audit_trail(logging, reason):
    finding = only(clean(account_trail_logging=logging), "NO_AUDIT_TRAIL")
    assert (finding.reason if finding else None) == reason


# -- Permissions and Source from the policy verdict -----------------------------------------

@pytest.mark.parametrize(("verdict", "expected"), [
    (CONFINED, set()),
    (PermissionVerdict(True, "allows", True, "guarded"), {"ADMIN_PRIVILEGE"}),
    (PermissionVerdict(False, "scoped", False, "1 of 2"), {"NO_SOURCE_RESTRICTION"}),
    (PermissionVerdict(True, "allows", False, "1 of 2"),
     {"ADMIN_PRIVILEGE", "NO_SOURCE_RESTRICTION"}),
    (None, set()),
])
def test_permission_verdict_becomes_findings(verdict, expected):
    assert codes(clean(permissions=verdict)) == expected


def test_permission_findings_carry_the_verdict_reasons():
    verdict = PermissionVerdict(True, 'inline policy "ops" (user) allows "*" on "*"', False,
                                "1 of 2 Allow statements have no source condition")
    found = {f.code: f.reason for f in evaluate_key(clean(permissions=verdict), now=NOW)}
    assert found == {"ADMIN_PRIVILEGE": verdict.admin_reason,
                     "NO_SOURCE_RESTRICTION": verdict.source_reason}


@pytest.mark.parametrize(("verdict", "expected"), [
    (PermissionVerdict(False, "scoped", True, "guarded", True, "can PutUserPolicy"),
     {"PRIVILEGE_ESCALATION"}),
    (PermissionVerdict(False, "scoped", False, "1 of 2", True, "can PutUserPolicy"),
     {"PRIVILEGE_ESCALATION", "NO_SOURCE_RESTRICTION"}),
    (PermissionVerdict(False, "scoped", True, "guarded", False, ""), set()),
    # an admin has nothing to climb to: a verdict claiming both is read as admin only
    (PermissionVerdict(True, "allows", True, "guarded", True, "can PutUserPolicy"),
     {"ADMIN_PRIVILEGE"}),
])
def test_escalation_fires_only_when_not_admin(verdict, expected):
    assert codes(clean(permissions=verdict)) == expected


def test_escalation_reason_is_the_verdicts_path():
    reason = ('inline policy "deploy" (user) allows "iam:PassRole" with "ec2:RunInstances" '
              'on "*"')
    verdict = PermissionVerdict(False, "scoped", True, "guarded", True, reason)
    finding = only(clean(permissions=verdict), "PRIVILEGE_ESCALATION")
    assert finding.reason == reason
    assert (finding.element, finding.severity, finding.waivable) == (
        Element.PERMISSIONS, Severity.HIGH, True)


def test_escalation_is_waivable_like_admin():
    assert compliance(["PRIVILEGE_ESCALATION"], ["PRIVILEGE_ESCALATION"]) == Compliance.EXCEPTED


# -- Updates: a key AWS found in public ------------------------------------------------------

QUARANTINED = 'attached policy "AWSCompromisedKeyQuarantineV2" (user)'


@pytest.mark.parametrize(("quarantined_by", "reason"), [
    ("", None),
    (QUARANTINED,
     'AWS quarantined the user (attached policy "AWSCompromisedKeyQuarantineV2" (user)): it '
     "found one of the user's keys in public; replace the key and deactivate it"),
    ('attached policy "AWSCompromisedKeyQuarantineV3" (group "contractors")',
     'AWS quarantined the user (attached policy "AWSCompromisedKeyQuarantineV3" (group '
     '"contractors")): it found one of the user\'s keys in public; replace the key and '
     "deactivate it"),
])
def test_key_exposed_fires_on_an_active_key_of_a_quarantined_user(quarantined_by, reason):
    finding = only(clean(quarantined_by=quarantined_by), "KEY_EXPOSED")
    assert (finding.reason if finding else None) == reason


def test_key_exposed_is_critical_and_the_only_finding_of_an_otherwise_clean_key():
    [finding] = evaluate_key(clean(quarantined_by=QUARANTINED), now=NOW)
    assert (finding.code, finding.element, finding.severity, finding.waivable) == (
        "KEY_EXPOSED", Element.UPDATES, Severity.CRITICAL, False)


def test_key_exposed_is_silent_on_inactive_and_root_keys():
    assert codes(clean(quarantined_by=QUARANTINED, status="Inactive")) == set()
    assert codes(clean(quarantined_by=QUARANTINED, is_root=True, permissions=None)) == {
        "ROOT_KEY"}


def test_key_exposed_does_not_depend_on_knowing_the_permissions():
    assert codes(clean(quarantined_by=QUARANTINED, permissions=None)) == {"KEY_EXPOSED"}


def test_key_exposed_cannot_be_excepted():
    found = evaluate_key(clean(quarantined_by=QUARANTINED, last_used_at=days_ago(60)), now=NOW)
    assert [f.code for f in found] == ["KEY_EXPOSED", "UNUSED"]
    assert compliance(["KEY_EXPOSED"], ["KEY_EXPOSED"]) == Compliance.NON_COMPLIANT
    assert compliance(["KEY_EXPOSED", "UNUSED"], ["KEY_EXPOSED", "UNUSED"]) == (
        Compliance.NON_COMPLIANT)
    card = scorecard(found, ["KEY_EXPOSED", "UNUSED"])
    assert card[Element.UPDATES] == (Verdict.FAIL, (f"KEY_EXPOSED: {found[0].reason}",))
