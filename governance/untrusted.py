"""Untrusted input at Keyledger's borders: strings from AWS, query strings, request bodies.

AWS strings (tag values, user and policy names) are whatever someone with IAM write access
typed; query strings and bodies are whatever a browser or script sent. Templates escape on
output and the CSV export neutralises formulas; this module makes sure such values fit where
they are stored and never reach the database in a form it refuses (PostgreSQL rejects NUL in
text and in JSON). An oversized body is refused before anything parses it, by
``config.security.RequestBodyLimitMiddleware``.
"""

import re

TRUNCATED = "…[truncated]"
# C0 and C1 control characters except tab, line feed and carriage return (kept as typed:
# templates and CSV cope with them), and NUL, which PostgreSQL cannot store at all.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
QUERY_ID = re.compile(r"[0-9]{1,18}")


def clip(value: str, limit: int) -> str:
    """``value`` without control characters, cut to ``limit`` characters with a visible
    marker when it was longer, so a reader knows the stored copy is not the whole value."""
    value = CONTROL_CHARACTERS.sub("", value)
    if len(value) <= limit:
        return value
    return value[:limit - len(TRUNCATED)] + TRUNCATED


def storable(data):
    """JSON data (a policy document) with control characters removed from every string, keys
    included: PostgreSQL's jsonb refuses ``\\u0000`` outright, which would fail the sync."""
    if isinstance(data, str):
        return CONTROL_CHARACTERS.sub("", data)
    if isinstance(data, dict):
        return {storable(k): storable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [storable(item) for item in data]
    return data


def query_text(value: str, limit: int) -> str:
    """Free text from a query string, trimmed, without control characters, at most ``limit``
    characters (longer text is cut, not refused: it is only ever searched for)."""
    return CONTROL_CHARACTERS.sub("", value).strip()[:limit]


def query_id(request, name: str) -> int | None:
    """A query parameter holding a database id, or None unless it is plain ASCII digits."""
    value = request.GET.get(name, "")
    return int(value) if QUERY_ID.fullmatch(value) else None
