"""What a statement's ``Condition`` means for Keyledger's two questions about a key.

* **Source** (``NO_SOURCE_RESTRICTION``): does a test on ``aws:SourceIp``, ``aws:SourceVpce``,
  ``aws:SourceVpc`` or ``aws:VpcSourceIp`` hold the key to known places? That depends on
  three things, each decided here:

  1. *the operator's sense*: on an Allow a positive test (``IpAddress``, ``StringEquals``…)
     confines; on a Deny a negated one (``NotIpAddress``, ``StringNotEquals``…);
  2. *what happens when the request carries no such key* (calls through a VPC endpoint have
     no ``aws:SourceIp``; calls over the internet no ``aws:SourceVpce``). A test confines only
     if such a request is held to the rule too:

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

  3. *whether the values name specific places* (:func:`names_known_places`): a ``*`` or ``?``
     in any value (``vpce-*`` matches an endpoint a thief creates in their own account), or
     CIDRs that add up to every IPv4 address (``0.0.0.0/0``, or ``0.0.0.0/1`` with
     ``128.0.0.0/1``) or every IPv6 address (``::/0``), name no place. A value that is not
     an address at all (a placeholder such as ``<corporate-cidr>``) is taken as specific:
     it is not a wildcard, and IAM would refuse it before it could grant anything.

* **Calls AWS makes for the user**: an Allow that requires ``aws:ViaAWSService`` true,
  ``aws:IsMcpServiceAction`` true, or an ``aws:CalledVia*`` key can never be used by a
  request signed directly with the key (:func:`aws_service_only`). Such a grant neither
  makes an admin nor needs a source condition.

Operator names and condition keys compare case-insensitively, as IAM does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

SOURCE_KEYS = frozenset({"aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip"})
IP_KEYS = frozenset({"aws:sourceip", "aws:vpcsourceip"})
NEGATED_OPERATORS = frozenset(
    {"notipaddress", "stringnotequals", "stringnotequalsignorecase", "stringnotlike"})
POSITIVE_OPERATORS = frozenset(
    {"ipaddress", "stringequals", "stringequalsignorecase", "stringlike", "arnequals",
     "arnlike"})
# Keys AWS sets only when it makes a call on the user's behalf.
SERVICE_BOOL_KEYS = frozenset({"aws:viaawsservice", "aws:ismcpserviceaction"})
CALLED_VIA_KEYS = frozenset({"aws:calledvia", "aws:calledviafirst", "aws:calledvialast"})
_STRING_POSITIVE = frozenset({"stringequals", "stringequalsignorecase", "stringlike"})
_SET_PREFIXES = ("forallvalues:", "foranyvalue:")


@dataclass(frozen=True)
class Operator:
    """A condition operator name taken apart: ``ForAnyValue:StringEqualsIfExists`` is
    base ``stringequals``, qualifier ``foranyvalue:``, ``if_exists`` True."""

    name: str
    base: str
    qualifier: str
    if_exists: bool

    @classmethod
    def parse(cls, name: str) -> Operator:
        lowered = name.strip().lower()
        qualifier = next((p for p in _SET_PREFIXES if lowered.startswith(p)), "")
        lowered = lowered[len(qualifier):]
        if_exists = lowered.endswith("ifexists")
        base = lowered[: -len("ifexists")] if if_exists else lowered
        return cls(name, base, qualifier, if_exists)

    @property
    def true_when_key_absent(self) -> bool:
        """The test's outcome for a request without the key (see the module's table)."""
        if self.if_exists or self.qualifier == "forallvalues:":
            return True
        if self.qualifier == "foranyvalue:":
            return False
        return self.base in NEGATED_OPERATORS


def values_of(value: object) -> tuple[str, ...]:
    """A condition's values as strings (a single value or a list; JSON true is "true")."""
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(str(v).lower() if isinstance(v, bool) else str(v)
                 for v in items if isinstance(v, str | bool | int | float))


def _covers_every_address(values: tuple[str, ...]) -> str:
    """``"IPv4"`` / ``"IPv6"`` when these CIDRs add up to every address of that family."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            continue
    # One list per family: collapse_addresses takes networks of one family only.
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(v4)):
        return "IPv4"
    if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(v6)):
        return "IPv6"
    return ""


def names_known_places(key: str, values: tuple[str, ...]) -> str:
    """"" when every value names a specific place; otherwise why not, in words."""
    if not values:
        return "has no value"
    wild = next((v for v in values if "*" in v or "?" in v), None)
    if wild is not None:
        return f'matches any place ("{wild}")'
    if key in IP_KEYS and (family := _covers_every_address(values)):
        return f"covers every {family} address"
    return ""


@dataclass(frozen=True)
class SourceTest:
    """One test of a source key inside a statement's Condition."""

    operator: Operator
    key: str  # as written
    values: tuple[str, ...]

    @property
    def negated(self) -> bool:
        return self.operator.base in NEGATED_OPERATORS

    @property
    def vague(self) -> str:
        """Why its values name no specific place ("" when they do)."""
        return names_known_places(self.key.strip().lower(), self.values)

    @property
    def holds_absent_key(self) -> bool:
        """Whether a request without the key is held to the rule: denied by a negated test
        on a Deny, not granted by a positive test on an Allow."""
        absent = self.operator.true_when_key_absent
        return absent if self.negated else not absent

    @property
    def confines(self) -> bool:
        return self.holds_absent_key and not self.vague

    @property
    def weakness(self) -> str:
        """Why this test does not confine, in words ("" when it does)."""
        if not self.holds_absent_key:
            return f"its {self} lets requests without the key through"
        if self.vague:
            return f"its {self} {self.vague}"
        return ""

    def __str__(self) -> str:
        return f"{self.operator.name} {self.key}"


def source_tests(condition: dict) -> list[SourceTest]:
    """Every positive or negated test of a source key in a (well-formed) Condition."""
    found = []
    for operator_name, tests in condition.items():
        operator = Operator.parse(str(operator_name))
        if operator.base not in NEGATED_OPERATORS | POSITIVE_OPERATORS:
            continue
        for key, value in tests.items():
            if str(key).strip().lower() in SOURCE_KEYS:
                found.append(SourceTest(operator, str(key), values_of(value)))
    return found


def _service_only_test(operator: Operator, key: str, values: tuple[str, ...]) -> bool:
    if operator.true_when_key_absent:
        return False  # IfExists / ForAllValues: a direct call without the key passes
    if key in SERVICE_BOOL_KEYS:
        return operator.base == "bool" and bool(values) and all(v.lower() == "true"
                                                                for v in values)
    if key in CALLED_VIA_KEYS:
        return operator.base in _STRING_POSITIVE or (
            operator.base == "null" and values == ("false",))
    return False


def aws_service_only(condition: dict) -> str:
    """The test that confines a grant to calls AWS makes for the user ("" when none does).

    All tests of a Condition must hold together, so one such test is enough.
    """
    for operator_name, tests in condition.items():
        operator = Operator.parse(str(operator_name))
        for key, value in tests.items():
            lowered = str(key).strip().lower()
            if _service_only_test(operator, lowered, values_of(value)):
                return f"{operator_name} {key}"
    return ""
