"""Policies proposed for a user before its key exists, read from untrusted JSON.

``manage.py check_policy`` and ``POST /api/v1/policy-check/`` both take their input here and
pass the result to ``iam_policy.analyse_permissions``; nothing here judges a policy. What
comes back is a list of ``PolicySource`` whose documents are dicts IAM would accept, or a
``PolicyInputError`` naming the field that is wrong (``policies[1].document.Statement[0]``)
and why, in words a person can act on.

Accepted shapes:

* a list of ``{"name", "kind", "document"}`` (a FILE; errors say ``policies[N]``);
* ``{"policies": [ ... ]}`` (the API's body; a FILE may hold it too);
* a single policy document, a dict with ``Statement`` (a FILE only: one user-inline
  policy named after the file).

``document`` is a dict, a JSON string or URL-encoded JSON (as IAM returns documents). It is
checked against IAM's grammar for identity policies, so a document AWS would refuse is
refused here rather than judged as if it meant something. One exception: a statement with
no ``Effect`` at all is judged as what it is, a statement that allows and denies nothing,
with a warning; third-party scanners' test suites carry such documents, and refusing the
whole FILE over a statement that cannot grant anything would hide the rest's verdict.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from urllib.parse import unquote

from .iam_policy import PermissionVerdict, PolicySource

KINDS = ("user-inline", "user-attached", "group-inline", "group-attached")
MAX_FILE_BYTES = 1_048_576  # a FILE is a list of policies; IAM's largest single one is 10,240
MAX_NAME_CHARS = 128  # IAM's limit on policy names
VERSIONS = ("2012-10-17", "2008-10-17")
ITEM_FIELDS = ("name", "kind", "document")
DOCUMENT_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                      "Condition")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class PolicyInputError(ValueError):
    """Input that cannot be judged. ``where`` is the field path (empty: the input as a
    whole); ``problem`` says what is wrong with it."""

    def __init__(self, where: str, problem: str):
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}" if where else problem)


@dataclass(frozen=True)
class PolicyInput:
    """What was read: the policies to judge, and warnings (field path first) about parts
    that IAM would refuse but that change no verdict."""

    policies: list[PolicySource]
    warnings: list[str]


@dataclass(frozen=True)
class _Path:
    """A field path that reads like the JSON it points into."""

    text: str = ""

    def key(self, name: str) -> _Path:
        name = _shown(name) if _CONTROL.search(name) or len(name) > 60 else name
        return _Path(f"{self.text}.{name}" if self.text else name)

    def index(self, number: int) -> _Path:
        return _Path(f"{self.text}[{number}]")

    def error(self, problem: str) -> PolicyInputError:
        return PolicyInputError(self.text, problem)


# -- entry points ----------------------------------------------------------------------------

def read_policy_file(path: str, *, limit: int = MAX_FILE_BYTES) -> PolicyInput:
    """The policies in the FILE at ``path`` (a list, ``{"policies": ...}`` or one document,
    which is named after the file). At most ``limit`` bytes are ever read, so an oversized
    file is refused without being loaded."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise PolicyInputError("", f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise PolicyInputError("", f"is larger than {limit:,} bytes; a FILE holds the "
                                   "policies of one user, and IAM's largest policy is 10,240 "
                                   "characters")
    return policies_from_file(raw, name=os.path.basename(path) or path)


def policies_from_file(raw: bytes, *, name: str) -> PolicyInput:
    """The policies in a FILE's bytes (UTF-8 JSON); a bare document is named ``name``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyInputError("", f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
                               ) from None
    data = _parse_json(text, _Path(), what="the file")
    if isinstance(data, list):
        warnings: list[str] = []
        return PolicyInput(_policies(data, _Path("policies"), warnings), warnings)
    if isinstance(data, dict) and "policies" in data and "Statement" not in data:
        return policies_from_request(data)
    if isinstance(data, dict):
        warnings = []
        document = _document(data, _Path(), warnings)
        return PolicyInput([PolicySource(source="user-inline", name=name, document=document)],
                           warnings)
    raise PolicyInputError("", "must be a JSON list of policies ({\"name\", \"kind\", "
                               "\"document\"}) or a single policy document (an object with "
                               f"\"Statement\"), got {_type(data)}")


def policies_from_request(data: object) -> PolicyInput:
    """The policies of an API body ``{"policies": [{"name", "kind", "document"}, ...]}``."""
    if not isinstance(data, dict):
        raise PolicyInputError("", 'the body must be a JSON object {"policies": [...]}, got '
                                   f"{_type(data)}")
    if "policies" not in data:
        hint = (" (to check a single document, send {\"policies\": [{\"name\": ..., \"kind\": "
                "\"user-inline\", \"document\": ...}]})" if "Statement" in data else "")
        raise PolicyInputError("policies", f"this field is required{hint}")
    _no_unknown(data, ("policies",), _Path())
    warnings: list[str] = []
    return PolicyInput(_policies(data["policies"], _Path("policies"), warnings), warnings)


def verdict_fields(verdict: PermissionVerdict) -> dict:
    """The verdict as the API answers it and the command's ``--json`` line prints it (there
    with ``file`` first)."""
    return {
        "admin": verdict.admin,
        "escalation": verdict.escalation,
        "source_restricted": verdict.source_restricted,
        "reasons": {"admin": verdict.admin_reason, "escalation": verdict.escalation_reason,
                    "source": verdict.source_reason},
    }


# -- the list of policies --------------------------------------------------------------------

def _policies(items: object, path: _Path, warnings: list[str]) -> list[PolicySource]:
    if not isinstance(items, list):
        raise path.error(f"must be a list of policies, got {_type(items)}")
    return [_policy(item, path.index(number), warnings) for number, item in enumerate(items)]


def _policy(item: object, path: _Path, warnings: list[str]) -> PolicySource:
    if not isinstance(item, dict):
        raise path.error('must be an object {"name", "kind", "document"}, got '
                         f"{_type(item)}")
    for field in ITEM_FIELDS:
        if field not in item:
            raise path.key(field).error("this field is required")
    _no_unknown(item, ITEM_FIELDS, path)
    name, kind = item["name"], item["kind"]
    if not isinstance(name, str):
        raise path.key("name").error(f"must be a string, got {_type(name)}")
    if not name.strip():
        raise path.key("name").error("must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise path.key("name").error(f"must be at most {MAX_NAME_CHARS} characters, got "
                                     f"{len(name):,}")
    if _CONTROL.search(name):
        raise path.key("name").error("must not contain control characters")
    if kind not in KINDS:
        raise path.key("kind").error(f"must be one of {', '.join(KINDS)}; got {_shown(kind)}")
    document = _document(item["document"], path.key("document"), warnings)
    return PolicySource(source=kind, name=name, document=document)


# -- one document, by IAM's grammar for identity policies ------------------------------------

def _document(value: object, path: _Path, warnings: list[str]) -> dict:
    if isinstance(value, str):
        value = _decode_document_text(value, path)
    if not isinstance(value, dict):
        raise path.error("must be a policy document (a JSON object, or a string holding "
                         f"one), got {_type(value)}")
    _no_unknown(value, DOCUMENT_ELEMENTS, path)
    if "Version" in value and value["Version"] not in VERSIONS:
        raise path.key("Version").error(
            f'must be "2012-10-17" (or the older "2008-10-17"), got {_shown(value["Version"])}')
    if "Id" in value and not isinstance(value["Id"], str):
        raise path.key("Id").error(f"must be a string, got {_type(value['Id'])}")
    if "Statement" not in value:
        raise path.error('has no "Statement"' + _case_hint(value, "Statement"))
    statements = value["Statement"]
    where = path.key("Statement")
    if isinstance(statements, dict):
        _statement(statements, where, warnings)
    elif isinstance(statements, list):
        for number, statement in enumerate(statements):
            _statement(statement, where.index(number), warnings)
    else:
        raise where.error(f"must be an object or a list of objects, got {_type(statements)}")
    return value


def _decode_document_text(text: str, path: _Path) -> object:
    """A document sent as text: JSON, or URL-encoded JSON as IAM's API returns it."""
    try:
        return _parse_json(text, path, what="the document text")
    except PolicyInputError:
        decoded = unquote(text)
        if decoded == text:
            raise
    return _parse_json(decoded, path, what="the URL-decoded document text")


def _statement(statement: object, path: _Path, warnings: list[str]) -> None:
    if not isinstance(statement, dict):
        raise path.error(f"must be an object, got {_type(statement)}")
    if "Principal" in statement or "NotPrincipal" in statement:
        raise path.error("has a Principal: a user's policies name no principal (that belongs "
                         "in a resource or trust policy)")
    _no_unknown(statement, STATEMENT_ELEMENTS, path)
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        raise path.key("Sid").error(f"must be a string, got {_type(statement['Sid'])}")
    if "Effect" not in statement:
        warnings.append(f'{path.text}: has no "Effect"{_case_hint(statement, "Effect")}, which '
                        "IAM requires; judged as allowing and denying nothing")
    elif statement["Effect"] not in ("Allow", "Deny"):
        raise path.error(f'Effect must be "Allow" or "Deny", got {_shown(statement["Effect"])}')
    for positive, negative in (("Action", "NotAction"), ("Resource", "NotResource")):
        present = [element for element in (positive, negative) if element in statement]
        if not present:
            raise path.error(f'needs "{positive}" or "{negative}"'
                             + _case_hint(statement, positive, negative))
        if len(present) == 2:
            raise path.error(f'has both "{positive}" and "{negative}"; use one')
        _strings(statement[present[0]], path.key(present[0]))
    if "Condition" in statement:
        _condition(statement["Condition"], path.key("Condition"))


def _strings(value: object, path: _Path) -> None:
    """Action / Resource values: a non-empty string, or a list of them."""
    values = value if isinstance(value, list) else [value]
    for number, item in enumerate(values):
        where = path.index(number) if isinstance(value, list) else path
        if not isinstance(item, str):
            raise where.error(f"must be a string or a list of strings, got {_type(item)}")
        if not item.strip():
            raise where.error("must not be empty")


def _condition(condition: object, path: _Path) -> None:
    """``{"Operator": {"key": value or [values]}}``; values are strings, numbers or booleans."""
    if not isinstance(condition, dict):
        raise path.error('must be an object of operators, e.g. {"IpAddress": {"aws:SourceIp":'
                         f' "203.0.113.0/24"}}}}, got {_type(condition)}')
    for operator, tests in condition.items():
        where = path.key(operator)
        if not isinstance(tests, dict):
            raise where.error(f"must be an object of condition keys, got {_type(tests)}")
        for key, value in tests.items():
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str | int | float) for v in values):  # bool is an int
                raise where.key(key).error("must be a string, number or boolean, or a list of "
                                           f"them, got {_type(value)}")


# -- helpers ---------------------------------------------------------------------------------

def _parse_json(text: str, path: _Path, *, what: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise path.error(f"{what} is not JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}") from None
    except RecursionError:
        raise path.error(f"{what} is nested too deeply to be a policy") from None


def _no_unknown(value: dict, known: tuple[str, ...], path: _Path) -> None:
    for key in value:
        if key not in known:
            hint = next((f' (did you mean "{k}"? names are case-sensitive)' for k in known
                         if k.lower() == str(key).lower()), "")
            raise path.error(f"unknown element {_shown(key)}{hint}; expected "
                             f"{', '.join(known)}")


def _case_hint(value: dict, *names: str) -> str:
    wanted = {name.lower(): name for name in names}
    for key in value:
        if str(key).lower() in wanted:
            return f' (found {_shown(key)}; names are case-sensitive)'
    return ""


def _type(value: object) -> str:
    """JSON's name for the value's type, with a short excerpt of a string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {_shown(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: object, limit: int = 60) -> str:
    """A value quoted as JSON, cut short, with every control character escaped, so an error
    message can neither run on nor drive a terminal."""
    if isinstance(value, list | dict):
        return _type(value)
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
