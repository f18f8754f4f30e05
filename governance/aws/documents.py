"""Policy documents as AWS hands them over, made comparable.

Real IAM returns documents URL-encoded; botocore usually decodes them into dicts, and moto
returns objects. Either way the rest of Keyledger sees one canonical JSON value and its
sha256, so identical documents are stored once and a re-sync can tell "unchanged" cheaply.
"""

import hashlib
import json
from typing import Any

from ..iam_statements import parse_document
from .errors import CollectionError

MAX_DOCUMENT_CHARS = 131_072  # IAM's own limits are far lower; anything above is not IAM's


def decode_document(raw: Any, *, where: str) -> Any:
    """A policy document as JSON data, from a dict, a JSON string or a URL-encoded string.

    The decoding is ``iam_statements.parse_document`` (the analyser's own); this border
    only refuses what AWS never sends, as ``bad_data`` naming ``where``.
    """
    if isinstance(raw, (dict, list)):
        return raw
    if not isinstance(raw, str):
        raise CollectionError("bad_data", f"{where}: policy document is not text")
    if len(raw) > MAX_DOCUMENT_CHARS:
        raise CollectionError("bad_data", f"{where}: policy document too long")
    document = parse_document(raw)
    if document is None:
        raise CollectionError("bad_data",
                              f"{where}: policy document is not JSON (or not a JSON object)")
    return document


def canonical_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_digest(document: Any) -> str:
    """sha256 of the canonical JSON: equal documents, equal digests."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
