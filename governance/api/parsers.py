"""The API's JSON parser (DRF's default, ``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``, so
every endpoint uses it): a 400 with the reason for the JSON that DRF's own parser lets
through as a 500.

Kept apart from ``base.py``: DRF reads the parser setting while ``rest_framework.views`` is
being imported, so this module must not import the views.
"""

import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(data) -> str:
    """The first lone surrogate in a parsed document's strings (keys included), or ''.

    Walked with a stack, not recursion: the document may be as deep as the parser allowed.
    """
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = LONE_SURROGATE.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return ""


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, answering a 400 (not a 500) for

    - nesting deeper than Python's recursion limit: ``[[[[...`` is a few bytes per level,
      well inside the body limit, and ``json`` raises RecursionError;
    - a lone surrogate escape (``"\\ud800"``): valid JSON syntax but not Unicode text, it
      cannot be stored in Postgres or written back in an answer (an error message quoting
      the value failed to encode).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        surrogate = _lone_surrogate(data)
        if surrogate:
            raise ParseError(f"JSON parse error - \\u{ord(surrogate):04x} is a lone surrogate, "
                             "not a character: send valid Unicode text.")
        return data
