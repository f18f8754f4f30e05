"""What a user's IAM policies allow, read with IAM's semantics rather than string matching.

Two questions feed the Permissions and Source rows of DESIGN.md's findings table:

* **admin** (``ADMIN_PRIVILEGE``): can the user do ``*`` on ``*``? An Allow statement counts
  when its action side covers every action and its resource side every resource:

  - ``Action`` ``*``, ``*:*`` (any spelling made only of ``*`` on each side of the colon,
    matched case-insensitively), alone or inside a list;
  - ``NotAction`` (any list that does not itself exclude every action): "everything except
    X" on ``*`` still includes privilege-escalation paths and AWS's PowerUserAccess shape,
    so it is admin-equivalent and the reason says what was excluded;
  - ``NotResource`` likewise counts as "every resource except a few".

  A ``Condition`` on that Allow does not clear it: the grant exists whenever the condition
  holds (an admin confined to the office network is still an admin). Only an
  *unconditional* Deny of every action on every resource cancels it; a narrower Deny
  (``iam:*``, one bucket) leaves "everything else", which is what NotAction admin means too.

* **source restricted** (``NO_SOURCE_RESTRICTION``): are the keys usable only from known
  places? Yes when either

  (a) a Deny statement covers every action on every resource and its Condition tests a
      source key (``aws:SourceIp``, ``aws:SourceVpce``, ``aws:SourceVpc``,
      ``aws:VpcSourceIp``; keys compared case-insensitively) with a negated operator
      (``NotIpAddress``, ``StringNotEquals``, ``StringNotEqualsIgnoreCase``,
      ``StringNotLike``); other conditions in the same block are ignored, since AWS's own
      example pairs the guard with an ``aws:ViaAWSService`` exemption; or
  (b) every Allow statement tests a source key with a positive operator (``IpAddress``,
      ``StringEquals``, ``StringEqualsIgnoreCase``, ``StringLike``, ``ArnEquals``,
      ``ArnLike``).

  Whether a condition confines a request depends on what it does when the request carries
  *no* source key (calls made by AWS services, for instance), so that is what decides:

  ======================  ===================  ==========================================
  operator form           key absent =>        counts as confining?
  ======================  ===================  ==========================================
  positive                false                Allow: yes (no key, no grant)
  positive ``IfExists``   true                 Allow: **no** (no key, granted anyway)
  ``ForAllValues:`` pos.  true (vacuous)       Allow: **no**
  ``ForAnyValue:`` pos.   false                Allow: yes
  negated                 true                 Deny: yes (no key, denied)
  negated ``IfExists``    true                 Deny: yes, same as without ``IfExists``
  ``ForAllValues:`` neg.  true (vacuous)       Deny: yes
  ``ForAnyValue:`` neg.   false                Deny: **no** (no key, not denied)
  ======================  ===================  ==========================================

  A user whose policies allow nothing is reported as restricted ("grants no permissions"):
  there is nothing to confine, and flagging it would ask the owner to fix a non-problem.

Policies from every source (user inline/attached, group inline/attached) count the same.
Documents arrive as dicts, JSON strings or URL-encoded JSON strings (as IAM returns them);
a document that cannot be decoded contributes no statements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

SOURCE_KEYS = frozenset({"aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip"})
NEGATED_OPERATORS = frozenset(
    {"notipaddress", "stringnotequals", "stringnotequalsignorecase", "stringnotlike"})
POSITIVE_OPERATORS = frozenset(
    {"ipaddress", "stringequals", "stringequalsignorecase", "stringlike", "arnequals",
     "arnlike"})
_SET_PREFIXES = ("forallvalues:", "foranyvalue:")
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


@dataclass(frozen=True)
class PermissionVerdict:
    admin: bool
    admin_reason: str
    source_restricted: bool
    source_reason: str
    escalation: bool = False  # not admin, but a known path to admin is allowed
    escalation_reason: str = ""


@dataclass(frozen=True)
class _Statement:
    policy: PolicySource
    effect: str  # "allow" / "deny"
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None
    condition: dict


# -- decoding --------------------------------------------------------------------------------

def decode_document(document: object) -> dict:
    """The document as a dict: JSON text is parsed, URL-encoded JSON decoded first."""
    if isinstance(document, dict):
        return document
    if isinstance(document, bytes):
        document = document.decode("utf-8", errors="replace")
    if not isinstance(document, str):
        return {}
    for candidate in (document, unquote(document)):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return {}


def _strings(value: object) -> tuple[str, ...]:
    """``Action``-style fields are a string or a list of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def statements(policy: PolicySource) -> list[_Statement]:
    """The Allow and Deny statements of one policy (``Statement`` may be a dict or a list)."""
    raw = decode_document(policy.document).get("Statement", [])
    raw = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    result = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        effect = str(item.get("Effect", "")).lower()
        if effect not in ("allow", "deny"):
            continue
        condition = item.get("Condition")
        result.append(_Statement(
            policy=policy, effect=effect, actions=_strings(item.get("Action")),
            not_actions=_strings(item["NotAction"]) if "NotAction" in item else None,
            resources=_strings(item.get("Resource")),
            not_resources=_strings(item["NotResource"]) if "NotResource" in item else None,
            condition=condition if isinstance(condition, dict) and condition else {},
        ))
    return result


# -- wildcards -------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """IAM action wildcards: ``*`` and ``?`` only (no ``[]``), case-insensitive."""
    return _pattern(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM resource wildcards: ``*`` and ``?`` only, case-sensitive (ARNs are)."""
    return _pattern(pattern, False).fullmatch(resource) is not None


def covers_all_actions(pattern: str) -> bool:
    """``*``, ``*:*`` and other all-star spellings: every ``service:action`` matches."""
    parts = pattern.strip().split(":")
    return len(parts) <= 2 and all(p and set(p) == {"*"} for p in parts)


def covers_all_resources(pattern: str) -> bool:
    pattern = pattern.strip()
    return bool(pattern) and set(pattern) == {"*"}


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _grant(st: _Statement) -> str | None:
    """For an Allow: how it grants every action on every resource, or None if it does not."""
    if st.not_actions is not None:
        if any(covers_all_actions(a) for a in st.not_actions):
            return None  # excludes everything: grants nothing
        what = (f"every action except {_quoted(st.not_actions)}" if st.not_actions
                else "every action")
    elif any(covers_all_actions(a) for a in st.actions):
        what = _quoted(a for a in st.actions if covers_all_actions(a))
    else:
        return None
    if st.not_resources is not None:
        if any(covers_all_resources(r) for r in st.not_resources):
            return None
        where = (f"every resource except {_quoted(st.not_resources)}" if st.not_resources
                 else "every resource")
    elif any(covers_all_resources(r) for r in st.resources):
        where = '"*"'
    else:
        return None
    suffix = " (under a condition)" if st.condition else ""
    return f"{st.policy.label} allows {what} on {where}{suffix}"


def _denies_everything(st: _Statement) -> bool:
    """An unconditional Deny of every action on every resource."""
    return (st.effect == "deny" and not st.condition and st.not_actions is None
            and st.not_resources is None
            and any(covers_all_actions(a) for a in st.actions)
            and any(covers_all_resources(r) for r in st.resources))


# -- source conditions ---------------------------------------------------------------------

def _operator(name: str) -> tuple[str, bool]:
    """(base operator, outcome when the key is absent) for a condition operator name."""
    lowered = name.strip().lower()
    qualifier = ""
    for prefix in _SET_PREFIXES:
        if lowered.startswith(prefix):
            qualifier, lowered = prefix, lowered[len(prefix):]
    if_exists = lowered.endswith("ifexists")
    base = lowered[: -len("ifexists")] if if_exists else lowered
    if if_exists or qualifier == "forallvalues:":
        return base, True
    if qualifier == "foranyvalue:":
        return base, False
    return base, base in NEGATED_OPERATORS


def _source_tests(condition: dict, *, deny: bool) -> tuple[list[str], list[str]]:
    """(confining tests, loopholes) on source keys, as 'Operator aws:Key' strings.

    Confining: a Deny's negated test, or an Allow's positive test, that also holds a request
    without the key to the rule. Loophole: a test on a source key that does not.
    """
    confining, loopholes = [], []
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            continue
        base, absent_outcome = _operator(str(operator))
        wanted = NEGATED_OPERATORS if deny else POSITIVE_OPERATORS
        for key in tests:
            if str(key).strip().lower() not in SOURCE_KEYS or base not in wanted:
                continue
            confines_absent = absent_outcome if deny else not absent_outcome
            (confining if confines_absent else loopholes).append(f"{operator} {key}")
    return confining, loopholes


def _source_verdict(found: list[_Statement]) -> tuple[bool, str]:
    allows = [st for st in found if st.effect == "allow"]
    if any(_denies_everything(st) for st in found):
        return True, "denies every action unconditionally"
    near_misses = []
    for st in found:
        if st.effect != "deny":
            continue
        confining, loopholes = _source_tests(st.condition, deny=True)
        all_actions = st.not_actions is None and any(covers_all_actions(a) for a in st.actions)
        all_resources = (st.not_resources is None
                         and any(covers_all_resources(r) for r in st.resources))
        if confining and all_actions and all_resources:
            return True, f"{st.policy.label} denies every action unless {confining[0]} matches"
        if confining:
            near_misses.append(f"the Deny in {st.policy.label} covers only some actions or "
                               "resources")
        elif loopholes:
            near_misses.append(f"the Deny in {st.policy.label} uses {loopholes[0]}, which "
                               "lets requests without the key through")
    if not allows:
        return True, "grants no permissions"
    unconfined, tests = [], []
    for st in allows:
        confining, loopholes = _source_tests(st.condition, deny=False)
        if confining:
            tests.append(confining[0])
        else:
            unconfined.append((st, loopholes))
    if not unconfined:
        return True, (f"all {len(allows)} Allow statements require "
                      f"{', '.join(sorted(set(tests)))}")
    st, loopholes = unconfined[0]
    if st.not_actions is not None:
        granted = f"every action except {_quoted(st.not_actions)}"
    else:
        granted = _quoted(st.actions[:2]) + (" …" if len(st.actions) > 2 else "")
    why = (f"its {loopholes[0]} lets requests without the key through" if loopholes
           else "no source condition")
    noun = "statement has" if len(unconfined) == 1 else "statements have"
    reason = (f"{len(unconfined)} of {len(allows)} Allow {noun} no confining source condition "
              f"(e.g. {st.policy.label} allowing {granted}: {why}); no Deny guard on every "
              "action")
    if near_misses:
        reason += f"; {near_misses[0]}"
    return False, reason


# -- the verdict ---------------------------------------------------------------------------

def analyse_permissions(policies: Iterable[PolicySource]) -> PermissionVerdict:
    """Whether these policies (all that apply to one user) make it an admin, and whether
    they confine its use to known sources, each with a one-line reason naming the policy."""
    found = [st for policy in policies for st in statements(policy)]
    grants = [g for st in found if st.effect == "allow" and (g := _grant(st))]
    blocker = next((st for st in found if _denies_everything(st)), None)
    if blocker is not None and grants:
        admin, admin_reason = False, (f"{grants[0]}, but {blocker.policy.label} denies every "
                                      "action on every resource unconditionally")
    elif grants:
        more = f" (and {len(grants) - 1} more)" if len(grants) > 1 else ""
        admin, admin_reason = True, grants[0] + more
    else:
        admin, admin_reason = False, "no Allow statement grants every action on every resource"
    restricted, source_reason = _source_verdict(found)
    return PermissionVerdict(admin, admin_reason, restricted, source_reason)


# -- exposure ------------------------------------------------------------------------------

_QUARANTINE_ARN = re.compile(r"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine(V[0-9]+)?")


def quarantine_policy(policies: Iterable[PolicySource]) -> PolicySource | None:
    """The AWS quarantine policy attached to the user or one of its groups, if any.

    AWS attaches ``AWSCompromisedKeyQuarantine`` (or a later ``V2``, ``V3``… version) when it
    finds one of the user's keys in public. Only the AWS-managed ARN counts: a customer
    policy that merely borrows the name is not AWS's verdict.
    """
    return next((p for p in policies if p.source in ("user-attached", "group-attached")
                 and _QUARANTINE_ARN.fullmatch(p.arn.strip())), None)
