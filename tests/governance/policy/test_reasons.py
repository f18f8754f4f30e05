"""Every reason a finding or a verdict gives, asserted whole.

Reasons are what people read on the key page and in mail: a change to one is a change to
the product, so each sentence is spelled out here rather than matched in part.
"""

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from governance.iam_policy import PermissionVerdict, PolicySource, analyse_permissions
from governance.iam_statements import Statement
from governance.policy import KeyFacts, OwnerFacts, PurposeFacts, evaluate_key

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OFFICE = ["203.0.113.0/24"]
VPCE = "vpce-0a1b2c3d4e5f60789"


def reasons(facts: KeyFacts, now: datetime = NOW) -> dict[str, str]:
    return {f.code: f.reason for f in evaluate_key(facts, now=now)}


def key(**fields) -> KeyFacts:
    """An active user key with every fact wrong that ``fields`` does not set right."""
    defaults = dict(
        is_root=False, status="Active", created_at=NOW - timedelta(days=200),
        last_used_at=NOW - timedelta(days=100), user_active_keys=2, user_has_password=True,
        permissions=PermissionVerdict(True, "admin reason", False, "source reason"),
        owner=OwnerFacts(), purpose=PurposeFacts(), account_trail_logging=False)
    return KeyFacts(**{**defaults, **fields})


# -- findings ------------------------------------------------------------------------------

def test_every_finding_of_a_user_key_gives_its_whole_reason():
    assert reasons(key()) == {
        "ADMIN_PRIVILEGE": "admin reason",
        "HUMAN_USER_KEY": "user also has a console password: a person, who should use IAM "
                          "Identity Center",
        "MULTIPLE_ACTIVE_KEYS": "user has 2 active keys; one key per purpose",
        "NO_AUDIT_TRAIL": "no multi-region CloudTrail trail is logging in the key's account",
        "NO_OWNER": "no owner resolved",
        "NO_PURPOSE": "no purpose registered",
        "NO_SOURCE_RESTRICTION": "source reason",
        "ROTATION_OVERDUE": "created 2026-05-12, 200 days ago; limit 90",
        "UNUSED": "last used 2026-08-20, 100 days ago; limit 45",
    }


def test_every_finding_of_a_root_key_gives_its_whole_reason():
    assert reasons(key(is_root=True, permissions=None, account_trail_logging=None)) == {
        "NO_AUDIT_TRAIL": "CloudTrail status unknown: not yet read from the account",
        "ROOT_KEY": "the account root user has an active access key; delete it",
        "ROTATION_OVERDUE": "created 2026-05-12, 200 days ago; limit 90",
        "UNUSED": "last used 2026-08-20, 100 days ago; limit 45",
    }


@pytest.fixture
def server_in_tokyo(monkeypatch):
    """The process's local time zone is UTC+9, as a server's may be."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_reason_dates_are_utc_whatever_the_servers_time_zone(server_in_tokyo):
    tokyo = timezone(timedelta(hours=9))
    created = datetime(2026, 3, 4, 8, 0, tzinfo=tokyo)  # 2026-03-03 23:00 UTC
    assert reasons(key(created_at=created))["ROTATION_OVERDUE"] == (
        "created 2026-03-03, 269 days ago; limit 90")


def test_naive_dates_are_read_as_utc_not_as_the_servers_local_time(server_in_tokyo):
    now = datetime(2026, 11, 28, 12, 0)
    facts = key(created_at=datetime(2026, 3, 3, 1, 0), last_used_at=datetime(2026, 3, 3, 1, 0),
                purpose=PurposeFacts(True, date(2026, 11, 18)))
    found = reasons(facts, now)
    assert found["ROTATION_OVERDUE"] == "created 2026-03-03, 270 days ago; limit 90"
    assert found["UNUSED"] == "last used 2026-03-03, 270 days ago; limit 45"
    assert found["NO_PURPOSE"] == "purpose review was due 2026-11-18, 10 days ago"


# -- the analyser's verdicts -----------------------------------------------------------------

def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", condition=None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


def deny(action="*", resource="*", condition=None) -> dict:
    statement = {"Effect": "Deny", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


def verdict(*documents) -> PermissionVerdict:
    return analyse_permissions(PolicySource("user-inline", f"p{i}", d)
                               for i, d in enumerate(documents))


FROM_OFFICE = {"IpAddress": {"aws:SourceIp": OFFICE}}
FROM_ENDPOINT = {"StringEquals": {"aws:SourceVpce": VPCE}}
OFFICE_GUARD = {"NotIpAddress": {"aws:SourceIp": OFFICE}}


@pytest.mark.parametrize(("statement", "reason"), [
    (allow("s3:GetObject"), "no Allow statement grants every action on every resource"),
    (allow("*"), 'inline policy "p0" (user) allows "*" on "*"'),
    (allow(["s3:GetObject", "*:*", "**"]), 'inline policy "p0" (user) allows "*:*", "**" on "*"'),
    ({"Effect": "Allow", "Action": "*", "NotResource": []},
     'inline policy "p0" (user) allows "*" on every resource'),
    ({"Effect": "Allow", "NotAction": [], "Resource": "*"},
     'inline policy "p0" (user) allows every action on "*"'),
    ({"Effect": "Allow", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::vault/*",
      "Condition": FROM_OFFICE},
     'inline policy "p0" (user) allows every action except "s3:*" on every resource except '
     '"arn:aws:s3:::vault/*" (under a condition)'),
])
def test_admin_reasons(statement, reason):
    assert verdict(doc(statement)).admin_reason == reason


def test_with_no_deny_the_source_reason_says_there_is_no_guard():
    assert verdict(doc(allow("s3:GetObject"))).source_reason == (
        '1 of 1 Allow statements has no confining source condition (e.g. inline policy "p0" '
        '(user) allowing "s3:GetObject": no source condition); no Deny guard on every action')


def test_a_deny_that_tests_no_source_adds_nothing_to_the_reason():
    result = verdict(doc(allow("s3:GetObject"), deny("s3:DeleteBucket")))
    assert result.source_reason == (
        '1 of 1 Allow statements has no confining source condition (e.g. inline policy "p0" '
        '(user) allowing "s3:GetObject": no source condition); no Deny guard on every action')


def test_a_guard_that_falls_short_is_named_after_the_whole_reason():
    vague = deny(condition={"NotIpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}})
    assert verdict(doc(allow(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"])),
                   doc(vague)).source_reason == (
        '1 of 1 Allow statements has no confining source condition (e.g. inline policy "p0" '
        '(user) allowing "sqs:SendMessage", "sqs:ReceiveMessage" …: no source condition); no '
        'Deny guard on every action; the Deny in inline policy "p1" (user) falls short: its '
        "NotIpAddress aws:SourceIp covers every IPv4 address")


def test_allows_confined_by_different_tests_name_each_test_once():
    result = verdict(doc(allow("s3:GetObject", "*", FROM_OFFICE),
                         allow("sqs:SendMessage", "*", FROM_ENDPOINT),
                         allow("sns:Publish", "*", FROM_OFFICE)))
    assert result.source_reason == ("all 3 Allow statements require IpAddress aws:SourceIp, "
                                    "StringEquals aws:SourceVpce")


def test_allows_confined_several_ways_count_each_way():
    result = verdict(doc(allow("s3:GetObject", "*", FROM_OFFICE),
                         allow("sqs:SendMessage", "*", FROM_ENDPOINT),
                         allow("s3:PutObject", "*", {"Bool": {"aws:ViaAWSService": "true"}})))
    assert result.source_reason == (
        "all 3 Allow statements are confined: 2 require IpAddress aws:SourceIp, StringEquals "
        "aws:SourceVpce; 1 only serve calls AWS makes for the user (Bool aws:ViaAWSService)")


def test_allows_confined_only_by_aws_services_and_by_denies_name_each():
    result = verdict(
        doc(allow("s3:PutObject", "*", {"Bool": {"aws:ViaAWSService": "true"}}),
            allow("kms:Decrypt", "*", {"Bool": {"aws:IsMcpServiceAction": "true"}}),
            allow("sqs:SendMessage"), allow("sns:Publish")),
        doc(deny("sqs:*", condition=OFFICE_GUARD)),
        doc(deny("sns:*", condition=OFFICE_GUARD)))
    assert result.source_reason == (
        "all 4 Allow statements are confined: 2 only serve calls AWS makes for the user (Bool "
        "aws:IsMcpServiceAction, Bool aws:ViaAWSService); 2 are covered by the Deny in inline "
        'policy "p1" (user), inline policy "p2" (user)')


def test_a_wildcard_value_is_quoted_as_written():
    result = verdict(doc(allow("s3:GetObject", "*", {"StringLike": {"aws:SourceVpce":
                                                                    "VPCE-0A1B*"}})))
    assert result.source_reason == (
        '1 of 1 Allow statements has no confining source condition (e.g. inline policy "p0" '
        '(user) allowing "s3:GetObject": its StringLike aws:SourceVpce matches any place '
        '("VPCE-0A1B*")); no Deny guard on every action')


# -- what a statement grants, in words -------------------------------------------------------

def statement(actions=("s3:GetObject",), not_actions=None) -> Statement:
    return Statement(PolicySource("user-inline", "p", {}), "allow", actions, not_actions,
                     ("*",), None, {})


@pytest.mark.parametrize(("actions", "not_actions", "granted"), [
    ((), None, ""),
    (("s3:GetObject",), None, '"s3:GetObject"'),
    (("s3:GetObject", "s3:PutObject"), None, '"s3:GetObject", "s3:PutObject"'),
    (("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), None,
     '"s3:GetObject", "s3:PutObject" …'),
    ((), (), "every action"),
    (("*",), ("iam:*",), 'every action except "iam:*"'),
    ((), ("iam:*", "organizations:*", "account:*"),
     'every action except "iam:*", "organizations:*", "account:*"'),
])
def test_what_a_statement_grants_in_words(actions, not_actions, granted):
    assert statement(actions, not_actions).granted == granted
