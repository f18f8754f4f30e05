"""The credential report parser against real-shaped AWS CSV: sentinels, root row, bad data."""

from datetime import UTC, datetime

import pytest

from governance.aws.credential_report import ROOT_ROW_USER, parse_credential_report
from governance.aws.errors import CollectionError

HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
# As AWS writes them (22 columns each).
ROOT = (
    "<root_account>,arn:aws:iam::111111111111:root,2019-03-04T05:06:07+00:00,not_supported,"
    "2024-01-02T03:04:05+00:00,not_supported,not_supported,true,"
    "true,2019-04-01T00:00:00+00:00,2024-02-03T04:05:06+00:00,us-east-1,iam,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)
ALICE = (  # two keys: slot 1 used, slot 2 inactive (rotated, never used)
    "alice,arn:aws:iam::111111111111:user/alice,2020-01-01T10:00:00+00:00,true,"
    "no_information,2020-01-01T10:00:00+00:00,N/A,false,"
    "true,2021-06-07T08:09:10+00:00,2025-03-04T05:06:07+00:00,eu-west-1,s3,"
    "false,2022-02-03T04:05:06+00:00,N/A,N/A,N/A,false,N/A,false,N/A"
)
BOB = (  # no password, no keys at all
    "bob,arn:aws:iam::111111111111:user/ops/bob,2023-05-06T07:08:09+00:00,false,N/A,N/A,"
    "N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)


def report(*lines: str) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_columns_are_the_22_aws_columns():
    assert len(HEADER.split(",")) == 22
    for line in (ROOT, ALICE, BOB):
        assert len(line.split(",")) == 22


def test_root_row():
    (root,) = parse_credential_report(report(ROOT))
    assert root.user == ROOT_ROW_USER and root.is_root
    assert root.arn == "arn:aws:iam::111111111111:root"
    assert root.created_at == utc(2019, 3, 4, 5, 6, 7)
    assert root.password_enabled is False  # "not_supported" is not a password
    assert root.password_last_used_at == utc(2024, 1, 2, 3, 4, 5)
    slot1, slot2 = root.slots
    assert slot1.active and slot1.exists
    assert slot1.last_rotated == utc(2019, 4, 1)
    assert slot1.last_used_at == utc(2024, 2, 3, 4, 5, 6)
    assert (slot1.last_used_region, slot1.last_used_service) == ("us-east-1", "iam")
    assert not slot2.exists and not slot2.active and slot2.last_rotated is None
    assert root.has_keys


def test_user_rows_sentinels_are_nothing():
    rows = parse_credential_report(report(ROOT, ALICE, BOB))
    assert [r.user for r in rows] == [ROOT_ROW_USER, "alice", "bob"]
    alice, bob = rows[1], rows[2]
    assert not alice.is_root
    assert alice.password_enabled is True
    assert alice.password_last_used_at is None  # no_information
    used, inactive = alice.slots
    assert (used.slot, inactive.slot) == (1, 2)
    assert used.active and used.last_rotated == utc(2021, 6, 7, 8, 9, 10)
    assert used.last_used_at == utc(2025, 3, 4, 5, 6, 7)
    assert (used.last_used_region, used.last_used_service) == ("eu-west-1", "s3")
    # An inactive slot that was rotated still holds a key.
    assert not inactive.active and inactive.exists
    assert inactive.last_rotated == utc(2022, 2, 3, 4, 5, 6)
    assert inactive.last_used_at is None
    assert (inactive.last_used_region, inactive.last_used_service) == ("", "")
    assert alice.has_keys

    assert bob.arn == "arn:aws:iam::111111111111:user/ops/bob"
    assert bob.password_enabled is False and bob.password_last_used_at is None
    assert not bob.has_keys
    assert all(not s.exists and s.last_used_region == "" and s.last_used_service == ""
               for s in bob.slots)


def test_dates_are_aware_utc_whatever_the_offset():
    line = ALICE.replace("2021-06-07T08:09:10+00:00", "2021-06-07T10:09:10+02:00").replace(
        "2025-03-04T05:06:07+00:00", "2025-03-04T05:06:07Z")
    (alice,) = parse_credential_report(report(line))
    assert alice.slots[0].last_rotated == utc(2021, 6, 7, 8, 9, 10)
    assert alice.slots[0].last_rotated.utcoffset().total_seconds() == 0
    assert alice.slots[0].last_used_at == utc(2025, 3, 4, 5, 6, 7)


def test_header_only_and_crlf():
    assert parse_credential_report(report()) == []
    rows = parse_credential_report(report(ALICE, BOB).replace(b"\n", b"\r\n"))
    assert [r.user for r in rows] == ["alice", "bob"]


def bad(content: bytes) -> str:
    with pytest.raises(CollectionError) as info:
        parse_credential_report(content)
    assert info.value.kind == "bad_data"
    assert not info.value.retryable
    return info.value.message


def test_missing_columns():
    header = HEADER.replace(",access_key_2_last_used_service", "")
    row = ",".join(ALICE.split(",")[:17] + ALICE.split(",")[18:])
    message = bad(f"{header}\n{row}\n".encode())
    assert "missing columns" in message and "access_key_2_last_used_service" in message


def test_empty_content():
    assert "missing columns" in bad(b"")


def test_bad_date():
    message = bad(report(BOB, ALICE.replace("2021-06-07T08:09:10+00:00", "yesterday")))
    assert "line 3" in message and "access_key_1_last_rotated" in message
    assert "yesterday" in message


def test_bad_boolean():
    message = bad(report(ALICE.replace("true,2021-06-07", "yes,2021-06-07")))
    assert "line 2" in message and "access_key_1_active" in message and "yes" in message


def test_not_utf8():
    assert "not UTF-8" in bad(report(ALICE).replace(b"alice", b"al\xffice"))


def test_row_with_too_many_fields():
    message = bad(report(ALICE, BOB + ",extra"))
    assert "line 3" in message and "too long" in message


def test_row_with_too_few_fields():
    """A truncated row must not read as "no keys": that would hide a key."""
    truncated = ",".join(ALICE.split(",")[:9])  # stops after access_key_1_active
    message = bad(report(BOB, truncated))
    assert "line 3" in message and "too short" in message
