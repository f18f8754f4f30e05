"""IAM's wildcard patterns (``*`` and ``?``, nothing else) and how two of them relate.

The policy analyser asks three questions of patterns, not just "does this name match":

* does a pattern match a name (``s3:Get*`` matches ``s3:GetObject``): :func:`action_matches`,
  :func:`resource_matches`;
* could one name match both patterns (does a Deny's ``NotAction`` ``es:ES*`` spare anything
  an Allow of ``s3:*`` grants?): :func:`patterns_overlap`;
* does every name one pattern matches also match another (does ``NotAction`` ``iam:*``
  exclude the whole of ``iam:*``; does a Deny of ``s3:*`` cover an Allow of ``s3:Get*``?):
  :func:`pattern_covers`.

Actions compare case-insensitively (IAM treats ``S3:getobject`` as ``s3:GetObject``);
resources (ARNs) case-sensitively. IAM has no character classes: ``[`` is a literal.
"""

from __future__ import annotations

import re
from functools import lru_cache

_STARS = re.compile(r"\*+")


@lru_cache(maxsize=65536)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """IAM action wildcards: ``*`` and ``?`` only (no ``[]``), case-insensitive."""
    if "*" not in pattern and "?" not in pattern:  # most actions are plain names
        return pattern.lower() == action.lower()
    return _regex(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM resource wildcards: ``*`` and ``?`` only, case-sensitive (ARNs are)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == resource
    return _regex(pattern, False).fullmatch(resource) is not None


def covers_all_actions(pattern: str) -> bool:
    """``*``, ``*:*`` and other all-star spellings: every ``service:action`` matches.

    ``*:*:*`` is not one of them: it needs two colons, which no action name has.
    """
    parts = pattern.strip().split(":")
    return len(parts) <= 2 and all(p and set(p) == {"*"} for p in parts)


def covers_all_resources(pattern: str) -> bool:
    """``*`` (or ``**``…): every resource ARN matches."""
    pattern = pattern.strip()
    return bool(pattern) and set(pattern) == {"*"}


def _collapsed(pattern: str) -> str:
    """The same pattern with each run of ``*`` as one ``*`` (``**`` matches what ``*`` does)."""
    return _STARS.sub("*", pattern)


def patterns_overlap(a: str, b: str, *, ignore_case: bool = True) -> bool:
    """Whether some name matches both patterns (``s3:*`` and ``*:Get*`` do; ``s3:*`` and
    ``es:*`` do not).

    A search over pairs of positions, one in each pattern (no recursion, so a pattern of
    thousands of characters is judged like a short one).
    """
    if ignore_case:
        a, b = a.lower(), b.lower()
    a, b = _collapsed(a), _collapsed(b)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) == (len(a), len(b)):
            return True
        if (i, j) in seen:
            continue
        seen.add((i, j))
        x = a[i] if i < len(a) else ""
        y = b[j] if j < len(b) else ""
        if x == "*":  # it matches one more character of the other, or nothing more
            todo += ([(i, j + 1)] if y else []) + [(i + 1, j)]
        if y == "*":
            todo += ([(i + 1, j)] if x else []) + [(i, j + 1)]
        if x and y and (x == y or "?" in (x, y)):  # one character each
            todo.append((i + 1, j + 1))
    return False


def pattern_covers(general: str, specific: str, *, ignore_case: bool = True) -> bool:
    """Whether every name ``specific`` matches is matched by ``general`` too.

    Token by token: a ``*`` in ``general`` may absorb any run of ``specific`` (wildcards
    included), a ``?`` one character or ``?``; a ``*`` in ``specific`` can only be absorbed
    by a ``*``. Sound (never says "covers" wrongly); for the patterns policies use, exact.
    Searched like :func:`patterns_overlap`, without recursion.
    """
    if ignore_case:
        general, specific = general.lower(), specific.lower()
    general, specific = _collapsed(general), _collapsed(specific)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if j == len(specific) and general[i:] in ("", "*"):
            return True
        if (i, j) in seen or i == len(general) or j == len(specific):
            continue
        seen.add((i, j))
        g, s = general[i], specific[j]
        if g == "*":  # it absorbs one more token of ``specific``, or nothing more
            todo += [(i, j + 1), (i + 1, j)]
        elif s != "*" and g in ("?", s):
            todo.append((i + 1, j + 1))
    return False
