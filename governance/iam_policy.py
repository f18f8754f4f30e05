"""What a user's IAM policies allow, read with IAM's semantics rather than string matching.

Three questions feed the Permissions and Source rows of DESIGN.md's findings table:

* **admin** (``ADMIN_PRIVILEGE``): can the user do ``*`` on ``*``? An Allow statement counts
  when its action side covers every action and its resource side every resource:

  - ``Action`` ``*``, ``*:*`` (any spelling made only of ``*`` on each side of one colon),
    alone or inside a list;
  - ``NotAction`` that does not exclude the whole of ``iam:*``: "everything but a few
    services", IAM among what remains, is admin-equivalent and the reason says what was
    excluded. A ``NotAction`` that excludes ``iam:*`` (AWS's PowerUserAccess shape) is not
    admin; what it still allows is judged by ``PRIVILEGE_ESCALATION``;
  - ``NotResource`` likewise counts as "every resource except a few".

  A ``Condition`` on that Allow does not clear it: the grant exists whenever the condition
  holds (an admin confined to the office network is still an admin), except a condition
  that confines the grant to calls AWS makes for the user (``aws:ViaAWSService`` true,
  ``aws:IsMcpServiceAction`` true, ``aws:CalledVia*``; see :mod:`.iam_conditions`), which
  a request signed with the key can never meet. Only an *unconditional* Deny of every
  action on every resource cancels it; a narrower Deny leaves "everything else", including
  IAM, with which the user can remove the Deny.

* **escalation** (``PRIVILEGE_ESCALATION``): not admin, but a known path to admin is allowed
  (:mod:`.iam_escalation`).

* **source restricted** (``NO_SOURCE_RESTRICTION``): are the keys usable only from known
  places? Every Allow statement that grants something must be confined, each in one of
  three ways:

  (a) a Deny guard covers it: a Deny on every resource whose action side covers the Allow's
      actions (``Action "*"``; a ``NotAction`` that spares none of them; ``Action``
      patterns that contain them), conditioned on negated source tests that all confine
      (:mod:`.iam_conditions`: they hold requests without the key, and name specific
      places). Other keys in the block (an ``aws:ViaAWSService`` exemption, say) are
      allowed; a positive source test in the block narrows the Deny to one place, so it
      is no guard;
  (b) its own Condition has a positive source test that confines; or
  (c) it only serves calls AWS makes for the user (``aws:ViaAWSService`` true…).

  That is DESIGN.md's "(a) a Deny guard or (b) a positive test on every Allow", read per
  statement, so a guard on some grants and conditions on the rest confine too. A user
  whose policies allow nothing is reported as restricted ("grants no permissions"):
  there is nothing to confine, and flagging it would ask the owner to fix a non-problem.

Policies from every source (user inline/attached, group inline/attached) count the same.
How malformed documents are read is in :mod:`.iam_statements`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .iam_conditions import source_tests
from .iam_escalation import escalation_reason
from .iam_statements import PolicySource, Statement, decode_document, statements
from .iam_wildcards import (
    action_matches,
    covers_all_actions,
    pattern_covers,
    patterns_overlap,
    resource_matches,
)

__all__ = ["PermissionVerdict", "PolicySource", "action_matches", "analyse_permissions",
           "decode_document", "quarantine_policy", "resource_matches", "statements"]
IAM_ALL = "iam:*"


@dataclass(frozen=True)
class PermissionVerdict:
    admin: bool
    admin_reason: str
    source_restricted: bool
    source_reason: str
    escalation: bool = False  # not admin, but a known path to admin is allowed
    escalation_reason: str = ""


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


# -- admin ---------------------------------------------------------------------------------

def _grant(st: Statement) -> str | None:
    """For an Allow: how it grants every action on every resource, or None if it does not."""
    if st.effect != "allow" or st.service_only or st.grants_nothing:
        return None
    if st.not_actions is not None:
        if any(pattern_covers(a, IAM_ALL) for a in st.not_actions):
            return None  # IAM is excluded: PowerUserAccess' shape, not admin
        what = st.granted
    elif st.all_actions:
        what = _quoted(a for a in st.actions if covers_all_actions(a))
    else:
        return None
    if st.not_resources is not None:
        where = (f"every resource except {_quoted(st.not_resources)}" if st.not_resources
                 else "every resource")
    elif st.all_resources:
        where = '"*"'
    else:
        return None
    suffix = " (under a condition)" if st.conditional else ""
    return f"{st.policy.label} allows {what} on {where}{suffix}"


def _denies_everything(st: Statement) -> bool:
    """An unconditional Deny of every action on every resource."""
    return (st.effect == "deny" and not st.conditional and st.all_actions
            and st.all_resources)


# -- source ----------------------------------------------------------------------------------

def _guard(st: Statement) -> tuple[str, str]:
    """For a Deny: (its confining source tests in words, "") when it is a guard, else
    ("", why it falls short) — ("", "") when it tests no source at all."""
    tests = source_tests(st.condition)
    negated = [t for t in tests if t.negated]
    if not negated:
        return "", ""
    narrowing = next((t for t in tests if not t.negated), None)
    if narrowing is not None:
        return "", (f"the Deny in {st.policy.label} applies only when {narrowing} matches, "
                    "so it guards nothing else")
    weak = next((t.weakness for t in negated if t.weakness), "")
    if weak:
        return "", f"the Deny in {st.policy.label} falls short: {weak}"
    return " or ".join(str(t) for t in negated), ""


def _deny_covers(deny: Statement, allow: Statement) -> bool:
    """Whether every request ``allow`` grants is within ``deny``'s actions and resources."""
    if deny.not_resources is not None:
        return False
    if not deny.all_resources and (allow.not_resources is not None or not all(
            any(pattern_covers(d, a, ignore_case=False) for d in deny.resources)
            for a in allow.resources)):
        return False
    if deny.not_actions is not None:
        if allow.not_actions is not None:  # spares only what the Allow never grants
            return all(any(pattern_covers(a, d) for a in allow.not_actions)
                       for d in deny.not_actions)
        return not any(patterns_overlap(d, a) for d in deny.not_actions for a in allow.actions)
    if deny.all_actions:
        return True
    return allow.not_actions is None and all(
        any(pattern_covers(d, a) for d in deny.actions) for a in allow.actions)


def _own_confinement(st: Statement) -> tuple[str, str]:
    """(the Allow's own confining source test, "") or ("", why its tests do not confine)."""
    positive = [t for t in source_tests(st.condition) if not t.negated]
    confining = next((t for t in positive if t.confines), None)
    if confining is not None:
        return str(confining), ""
    return "", next((t.weakness for t in positive if t.weakness), "no source condition")


def _guard_reason(deny: Statement, tests: str) -> str:
    what = "every action" if deny.all_actions else "every granted action"
    return f"{deny.policy.label} denies {what} unless {tests} matches"


def _source_verdict(found: Sequence[Statement]) -> tuple[bool, str]:
    if any(_denies_everything(st) for st in found):
        return True, "denies every action unconditionally"
    allows = [st for st in found if st.effect == "allow" and not st.grants_nothing]
    if not allows:
        return True, "grants no permissions"
    guards, near_misses = [], []
    for st in found:
        if st.effect == "deny":
            tests, short = _guard(st)
            if tests:
                guards.append((st, tests))
            elif short:
                near_misses.append(short)
    for deny, tests in guards:
        if all(_deny_covers(deny, st) for st in allows):
            return True, _guard_reason(deny, tests)
    own, service, guarded, unconfined = [], [], [], []
    for st in allows:
        test, why = _own_confinement(st)
        if test:
            own.append(test)
        elif st.service_only:
            service.append(st.service_only)
        elif guard := next((d for d, _ in guards if _deny_covers(d, st)), None):
            guarded.append(guard.policy.label)
        else:
            unconfined.append((st, why))
    if not unconfined:
        if len(own) == len(allows):
            return True, (f"all {len(allows)} Allow statements require "
                          f"{', '.join(sorted(set(own)))}")
        parts = [f"{len(own)} require {', '.join(sorted(set(own)))}"] if own else []
        if service:
            parts.append(f"{len(service)} only serve calls AWS makes for the user "
                         f"({', '.join(sorted(set(service)))})")
        if guarded:
            parts.append(f"{len(guarded)} are covered by the Deny in "
                         f"{', '.join(sorted(set(guarded)))}")
        return True, f"all {len(allows)} Allow statements are confined: {'; '.join(parts)}"
    st, why = unconfined[0]
    noun = "statements has" if len(unconfined) == 1 else "statements have"
    if guards:
        guard_note = (f"the Deny in {guards[0][0].policy.label} covers only some actions or "
                      "resources")
    else:
        guard_note = "no Deny guard on every action"
    reason = (f"{len(unconfined)} of {len(allows)} Allow {noun} no confining source condition "
              f"(e.g. {st.policy.label} allowing {st.granted}: {why}); {guard_note}")
    if near_misses:
        reason += f"; {near_misses[0]}"
    return False, reason


# -- the verdict ---------------------------------------------------------------------------

def analyse_permissions(policies: Iterable[PolicySource]) -> PermissionVerdict:
    """Whether these policies (all that apply to one user) make it an admin, let it make
    itself one, and confine its use to known sources, each with a one-line reason naming
    the policy."""
    found = [st for policy in policies for st in statements(policy)]
    grants = [g for st in found if (g := _grant(st))]
    blocker = next((st for st in found if _denies_everything(st)), None)
    if blocker is not None and grants:
        admin, admin_reason = False, (f"{grants[0]}, but {blocker.policy.label} denies every "
                                      "action on every resource unconditionally")
    elif grants:
        more = f" (and {len(grants) - 1} more)" if len(grants) > 1 else ""
        admin, admin_reason = True, grants[0] + more
    else:
        admin, admin_reason = False, "no Allow statement grants every action on every resource"
    escalation = "" if admin else escalation_reason(found)
    restricted, source_reason = _source_verdict(found)
    return PermissionVerdict(admin, admin_reason, restricted, source_reason,
                             bool(escalation), escalation)


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
