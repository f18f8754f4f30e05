"""Policy documents as Keyledger reads them: decoded, split into statements, never trusted.

Documents arrive as dicts, JSON text or URL-encoded JSON (as IAM returns them), and come
from AWS accounts or from people (``check_policy``), so nothing about their shape is
assumed. What is malformed contributes as little as possible, and never in the direction
that hides a risk:

* a document that cannot be decoded (not JSON, not UTF-8, not an object, nested too deeply
  for Python's JSON parser) has no statements;
* ``Statement`` that is neither an object nor a list (``42``, ``null``) has no statements;
  items of the list that are not objects are skipped, and so are statements whose ``Effect``
  is not Allow or Deny; the statements after them still count;
* ``Action``, ``NotAction``, ``Resource`` or ``NotResource`` holding something other than a
  string or a list of strings, and a ``Condition`` that is not an object or has an operator
  block that is not an object, are malformed (IAM refuses such documents). An **Allow**
  drops the values that are not strings and keeps only its well-formed blocks (so it grants
  at least as much as it could: a ``NotAction`` of ``42`` excludes nothing); a **Deny** with
  any malformed part is ignored (a Deny Keyledger cannot read is never taken as protection:
  a ``NotAction`` of ``42`` would otherwise deny every action).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote

from .iam_conditions import aws_service_only
from .iam_wildcards import (
    action_matches,
    covers_all_actions,
    covers_all_resources,
    pattern_covers,
    patterns_overlap,
)

_VALUE_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
_SOURCE_LABELS = {
    "user-inline": "inline policy {name} (user)",
    "user-attached": "attached policy {name} (user)",
    "group-inline": "inline policy {name} (group{group})",
    "group-attached": "attached policy {name} (group{group})",
}


@dataclass(frozen=True)
class PolicySource:
    """One policy that applies to a user. ``group`` names the group for group sources."""

    source: str  # user-inline, user-attached, group-inline or group-attached
    name: str
    document: object  # dict, JSON string or URL-encoded JSON string
    group: str = ""
    arn: str = ""  # managed policies only; tells AWS's own policies from look-alike names

    @property
    def label(self) -> str:
        """How a person recognises this policy: 'attached policy "X" (group "admins")'."""
        template = _SOURCE_LABELS.get(self.source, "policy {name} (" + self.source + ")")
        group = f' "{self.group}"' if self.group else ""
        return template.format(name=f'"{self.name}"', group=group)


def parse_document(document: object) -> dict | None:
    """The document as a dict, or None when it is not a JSON object.

    JSON text is parsed as it is, then URL-decoded (as IAM returns documents); bytes are
    read as UTF-8 with replacement. Never raises: invalid UTF-8 or JSON, and JSON nested
    too deeply for Python's parser, are None. The one decoder for documents from AWS
    (``governance.aws.documents``) and from people (``check_policy``).
    """
    if isinstance(document, dict):
        return document
    if isinstance(document, bytes):
        document = document.decode("utf-8", errors="replace")
    if not isinstance(document, str):
        return None
    for candidate in (document, unquote(document)):
        try:
            parsed = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(parsed, dict):
            return parsed
    return None


def decode_document(document: object) -> dict:
    """The document as a dict; ``{}`` (no statements) when it is not a JSON object."""
    parsed = parse_document(document)
    return {} if parsed is None else parsed


def strings(value: object) -> tuple[str, ...]:
    """``Action``-style fields are a string or a list of strings; anything else is dropped."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _only_strings(value: object) -> bool:
    """Whether an ``Action``-style value is a string or a list of strings, nothing else."""
    return isinstance(value, str) or (isinstance(value, list | tuple)
                                      and all(isinstance(v, str) for v in value))


def _condition(raw: object) -> tuple[dict, bool]:
    """(the well-formed operator blocks, whether anything was malformed)."""
    if raw is None:
        return {}, False
    if not isinstance(raw, dict):
        return {}, True
    blocks = {str(op): tests for op, tests in raw.items() if isinstance(tests, dict)}
    return blocks, len(blocks) < len(raw)


def _quoted(values) -> str:
    return ", ".join(f'"{v}"' for v in values)


@dataclass(frozen=True)
class Statement:
    """One Allow or Deny statement of a policy, with its fields normalised."""

    policy: PolicySource
    effect: str  # "allow" / "deny"
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None
    condition: dict
    condition_malformed: bool = False

    @cached_property
    def service_only(self) -> str:
        """The test confining this statement to calls AWS makes for the user, or ""."""
        return aws_service_only(self.condition)

    @property
    def conditional(self) -> bool:
        return bool(self.condition) or self.condition_malformed

    @cached_property
    def all_actions(self) -> bool:
        """``Action`` names every action (``*``, ``*:*``)."""
        return self.not_actions is None and any(covers_all_actions(a) for a in self.actions)

    @cached_property
    def all_resources(self) -> bool:
        """``Resource`` is ``*`` (a ``NotResource`` never is)."""
        return self.not_resources is None and any(covers_all_resources(r)
                                                  for r in self.resources)

    @cached_property
    def resource_wide(self) -> bool:
        """Every resource, or every resource but those a ``NotResource`` lists."""
        if self.not_resources is not None:
            return not any(covers_all_resources(r) for r in self.not_resources)
        return self.all_resources

    @cached_property
    def grants_nothing(self) -> bool:
        """No action or no resource can ever match (``NotAction "*"``, an empty list)."""
        if self.not_actions is not None:
            if any(covers_all_actions(a) for a in self.not_actions):
                return True
        elif not self.actions:
            return True
        if self.not_resources is not None:
            return any(covers_all_resources(r) for r in self.not_resources)
        return not self.resources

    def matches_action(self, action: str) -> bool:
        """Whether the statement's action side names this concrete action."""
        if self.not_actions is not None:
            return not any(action_matches(a, action) for a in self.not_actions)
        return any(action_matches(a, action) for a in self.actions)

    def covers_pattern(self, pattern: str) -> bool:
        """Whether every action ``pattern`` names is on the statement's action side."""
        if self.not_actions is not None:
            return not any(patterns_overlap(a, pattern) for a in self.not_actions)
        return any(pattern_covers(a, pattern) for a in self.actions)

    @property
    def granted(self) -> str:
        """What the action side names, in words, for reasons."""
        if self.not_actions is not None:
            return (f"every action except {_quoted(self.not_actions)}" if self.not_actions
                    else "every action")
        return _quoted(self.actions[:2]) + (" …" if len(self.actions) > 2 else "")


def statements(policy: PolicySource) -> list[Statement]:
    """The Allow and Deny statements of one policy (see the module docstring for what is
    skipped); a malformed Deny is left out."""
    raw = decode_document(policy.document).get("Statement", [])
    raw = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    result = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        effect = str(item.get("Effect", "")).lower()
        if effect not in ("allow", "deny"):
            continue
        condition, malformed = _condition(item.get("Condition"))
        if effect == "deny" and (malformed or not all(
                _only_strings(item[field]) for field in _VALUE_FIELDS if field in item)):
            continue
        result.append(Statement(
            policy=policy, effect=effect, actions=strings(item.get("Action")),
            not_actions=strings(item["NotAction"]) if "NotAction" in item else None,
            resources=strings(item.get("Resource")),
            not_resources=strings(item["NotResource"]) if "NotResource" in item else None,
            condition=condition, condition_malformed=malformed,
        ))
    return result
