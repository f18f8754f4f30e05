"""The key export (CSV and JSON), whose columns are a public contract (DESIGN.md).

One function produces the rows for the command, the web export and the API, streaming
from the database so 100,000 keys never sit in memory at once; the keys come joined with
what the rows need (``governance.selectors.with_export_columns``).
"""

import csv
import io
import itertools
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.db.models import QuerySet
from django.utils import timezone

from .models import AccessKey

KEY_EXPORT_COLUMNS = (
    "account_id", "account_name", "user_name", "access_key_id", "status", "created_at",
    "age_days", "last_used_at", "last_used_service", "last_used_region", "owner_email",
    "purpose", "findings", "compliance",
)
FORMULA_STARTERS = frozenset("=+-@")
# A cell starting with a tab or a carriage return is neutralised whatever follows (OWASP).
CONTROL_STARTERS = ("\t", "\r")


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_export_rows(keys: QuerySet, *, now: datetime | None = None) -> Iterator[dict]:
    """One dict per key with exactly KEY_EXPORT_COLUMNS."""
    now = now or timezone.now()
    for key in keys.iterator(chunk_size=2000):
        yield key_export_row(key, now=now)


def key_export_row(key: AccessKey, *, now: datetime | None = None) -> dict:
    """One key (loaded with ``with_export_columns``) as a dict with exactly
    KEY_EXPORT_COLUMNS: the same strings the CSV and the API show."""
    now = now or timezone.now()
    is_root = key.user.is_root
    return {
        "account_id": key.account.account_id,
        "account_name": key.account.name,
        "user_name": key.user.name,
        "access_key_id": "" if is_root else (key.access_key_id or ""),
        "status": key.status,
        "created_at": _iso(key.created_at),
        "age_days": "" if key.created_at is None else str((now - key.created_at).days),
        "last_used_at": _iso(key.last_used_at),
        "last_used_service": key.last_used_service,
        "last_used_region": key.last_used_region,
        "owner_email": key.owner.email if key.owner is not None else "",
        "purpose": key.purpose_category or "",
        "findings": key.open_codes,
        "compliance": key.compliance,
    }


def _skipped_before_formula(char: str) -> bool:
    """Whitespace (any Unicode space, line break or tab) and invisible format characters
    (zero-width space, BOM): spreadsheets trim or ignore them before a formula."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def _starts_formula(char: str) -> bool:
    """``=``, ``+``, ``-``, ``@`` or a compatibility look-alike of one (full-width ``＝``,
    small ``﹦``, ...), which input methods and some spreadsheets turn into the ASCII sign."""
    return char in FORMULA_STARTERS or unicodedata.normalize("NFKC", char) in FORMULA_STARTERS


def neutralise_formula(value: str) -> str:
    """Stop spreadsheets from running a cell as a formula (AWS strings are untrusted).

    A leading ``'`` makes the cell text when its first character other than whitespace is a
    formula starter or a look-alike of one, or when it starts with a tab or carriage return.
    """
    if value.startswith(CONTROL_STARTERS):
        return "'" + value
    first = next((char for char in value if not _skipped_before_formula(char)), "")
    return "'" + value if first and _starts_formula(first) else value


def csv_lines(rows: Iterable[dict]) -> Iterator[str]:
    """The CSV text, header first, one line at a time (for streaming responses)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    body = ([neutralise_formula(row[c]) for c in KEY_EXPORT_COLUMNS] for row in rows)
    for values in itertools.chain([list(KEY_EXPORT_COLUMNS)], body):
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
