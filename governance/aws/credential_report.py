"""The IAM credential report: one CSV per account with every user's key slots and last use.

It is the cheapest way to learn which users have keys and when each slot was last used;
its values are strings with sentinels (``N/A``, ``not_supported``, ``no_information``) that
mean "nothing here" and must not be mistaken for data.
"""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from .errors import CollectionError

ROOT_ROW_USER = "<root_account>"
NOTHING = {"", "N/A", "not_supported", "no_information"}
REQUIRED_COLUMNS = (
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
)
MAX_REPORT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class KeySlot:
    slot: int
    active: bool
    last_rotated: datetime | None
    last_used_at: datetime | None
    last_used_region: str
    last_used_service: str

    @property
    def exists(self) -> bool:
        """A slot holds a key if it is active or has ever been rotated (created)."""
        return self.active or self.last_rotated is not None


@dataclass(frozen=True)
class ReportRow:
    user: str
    arn: str
    created_at: datetime | None
    password_enabled: bool
    password_last_used_at: datetime | None
    slots: tuple[KeySlot, KeySlot]

    @property
    def is_root(self) -> bool:
        return self.user == ROOT_ROW_USER

    @property
    def has_keys(self) -> bool:
        return any(slot.exists for slot in self.slots)


def _text(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value in NOTHING else value


def _date(value: str | None, *, column: str, line: int) -> datetime | None:
    value = _text(value)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CollectionError(
            "bad_data", f"malformed credential report: line {line}, {column}={value[:40]!r}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _flag(value: str | None, *, column: str, line: int) -> bool:
    value = _text(value).lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise CollectionError(
        "bad_data", f"malformed credential report: line {line}, {column}={value[:40]!r}"
    )


def parse_credential_report(content: bytes) -> list[ReportRow]:
    """Rows of a credential report CSV; CollectionError('bad_data') if it cannot be trusted."""
    if len(content) > MAX_REPORT_BYTES:
        raise CollectionError("bad_data", "credential report larger than any real account's")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise CollectionError("bad_data", "malformed credential report: not UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CollectionError(
            "bad_data", f"malformed credential report: missing columns {', '.join(missing)}"
        )
    rows = []
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            raise CollectionError("bad_data", f"malformed credential report: line {line} too long")
        if None in raw.values():
            raise CollectionError("bad_data", f"malformed credential report: line {line} too short")
        # Two slots, one per ``n``: a tuple built from a generator has no length for mypy.
        slots = cast("tuple[KeySlot, KeySlot]", tuple(
            KeySlot(
                slot=n,
                active=_flag(raw[f"access_key_{n}_active"], column=f"access_key_{n}_active",
                             line=line),
                last_rotated=_date(raw[f"access_key_{n}_last_rotated"],
                                   column=f"access_key_{n}_last_rotated", line=line),
                last_used_at=_date(raw[f"access_key_{n}_last_used_date"],
                                   column=f"access_key_{n}_last_used_date", line=line),
                last_used_region=_text(raw[f"access_key_{n}_last_used_region"]),
                last_used_service=_text(raw[f"access_key_{n}_last_used_service"]),
            )
            for n in (1, 2)
        ))
        rows.append(ReportRow(
            user=(raw["user"] or "").strip(),
            arn=(raw["arn"] or "").strip(),
            created_at=_date(raw["user_creation_time"], column="user_creation_time", line=line),
            password_enabled=_flag(raw["password_enabled"], column="password_enabled", line=line),
            password_last_used_at=_date(raw["password_last_used"], column="password_last_used",
                                        line=line),
            slots=slots,
        ))
    return rows
