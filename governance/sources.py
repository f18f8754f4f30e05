"""Declared sources: where an owner says a key is used from, and whether an observed
address is one of them.

A registration declares a list of places (DESIGN.md, Purpose registration): IPv4/IPv6
CIDRs (a bare address is its own /32 or /128), VPC ids (``vpc-…``) and VPC endpoint ids
(``vpce-…``). The same list is what the suggested ``aws:SourceIp`` / ``aws:SourceVpce`` /
``aws:SourceVpc`` Deny guard confines the key to, and what ``UNEXPECTED_SOURCE`` compares
CloudTrail's addresses against. Pure functions, no Django: the judgement is tested alone.
"""

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
VPCE_ID = re.compile(r"^vpce-[0-9a-f]{8}([0-9a-f]{9})?$")
MAX_SOURCES = 50
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SourceError(ValueError):
    """A declared source that is not a CIDR, VPC id or VPC endpoint id; says which and why."""


@dataclass(frozen=True)
class Source:
    """One declared place. ``kind`` is ``cidr``, ``vpc`` or ``vpce``; ``value`` canonical."""

    kind: str
    value: str

    @property
    def network(self) -> Network | None:
        return ipaddress.ip_network(self.value) if self.kind == "cidr" else None


def parse_source(text: str) -> Source:
    """One declared source, canonicalised (``10.0.0.1`` -> ``10.0.0.1/32``, host bits of a
    CIDR refused rather than silently widened)."""
    value = text.strip()
    lowered = value.lower()
    if VPCE_ID.match(lowered):
        return Source("vpce", lowered)
    if VPC_ID.match(lowered):
        return Source("vpc", lowered)
    try:
        network = ipaddress.ip_network(value)  # strict: host bits set are refused
    except ValueError as exc:
        if "host bits set" in str(exc):
            raise SourceError(f"{value!r}: the address has bits set beyond the prefix; "
                              f"did you mean {ipaddress.ip_network(value, False)}?") \
                from None
        raise SourceError(f"{value!r} is not a CIDR (203.0.113.0/24), a VPC id (vpc-…) or "
                          "a VPC endpoint id (vpce-…)") from None
    if network.prefixlen == 0:
        raise SourceError(f"{value!r} is every address: it confines nothing")
    return Source("cidr", str(network))


def parse_sources(values: Iterable[str]) -> list[Source]:
    """Every declared source, in order, without duplicates; the first bad one raises."""
    seen: list[Source] = []
    for text in values:
        if text.strip():
            _add_once(seen, parse_source(text))
    if len(seen) > MAX_SOURCES:
        raise SourceError(f"at most {MAX_SOURCES} sources; group addresses into CIDRs")
    return seen


def _add_once(sources: list[Source], source: Source) -> None:
    if source not in sources:
        sources.append(source)


def split_sources(text: str) -> list[str]:
    """A textarea's sources: one per line, or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,]+", text) if part]


def is_ip_address(text: str) -> bool:
    """Whether CloudTrail's ``sourceIPAddress`` is an IP address (not a service name such
    as ``s3.amazonaws.com`` or ``AWS Internal``)."""
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def parse_each(values: Iterable[object]) -> tuple[list[Source], list[str]]:
    """Every source that parses (in order, once each) and, for each one that does not, why:
    a form names every bad entry at once, and stored data is read without failing."""
    found: list[Source] = []
    problems = []
    for text in values:
        try:
            _add_once(found, parse_source(str(text)))
        except SourceError as error:
            problems.append(str(error))
    return found, problems


def stored_sources(values: Iterable[object]) -> list[Source]:
    """The sources a registration stored (canonical already), skipping any that no longer
    parse: judgement over stored data must not fail on one bad row."""
    return parse_each(values)[0]


def address_declared(address: str, sources: Sequence[Source], *,
                     vpc_endpoint_id: str = "", vpc_id: str = "") -> bool:
    """Whether a call from ``address`` (CloudTrail's ``sourceIPAddress``), through
    ``vpc_endpoint_id`` / ``vpc_id`` when the record names them, came from a declared place.

    An address that is not an IP (a service name such as ``s3.amazonaws.com``) is never
    declared here: an AWS service acting for the key is judged by the caller, not by this.
    """
    for source in sources:
        if source.kind == "vpce" and vpc_endpoint_id and source.value == vpc_endpoint_id.lower():
            return True
        if source.kind == "vpc" and vpc_id and source.value == vpc_id.lower():
            return True
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(source.network is not None and ip.version == source.network.version
               and ip in source.network for source in sources)


def deny_guard(sources: Sequence[Source]) -> dict:
    """The Deny statement that confines every action to ``sources`` (the shape
    ``NO_SOURCE_RESTRICTION`` accepts): one statement per condition kind is not enough,
    because IAM ANDs the keys of one condition block, so an IP test and an endpoint test
    together deny a call that fails either; a call through a declared endpoint comes from a
    private address. The guard therefore denies when the call is outside every declared
    CIDR *and* outside every declared endpoint/VPC, with AWS services acting for the key
    exempt."""
    condition: dict[str, dict] = {"BoolIfExists": {"aws:ViaAWSService": "false"}}
    cidrs = [s.value for s in sources if s.kind == "cidr"]
    vpces = [s.value for s in sources if s.kind == "vpce"]
    vpcs = [s.value for s in sources if s.kind == "vpc"]
    if cidrs:
        condition["NotIpAddress"] = {"aws:SourceIp": cidrs}
    string_not_equals: dict[str, list[str]] = {}
    if vpces:
        string_not_equals["aws:SourceVpce"] = vpces
    if vpcs:
        string_not_equals["aws:SourceVpc"] = vpcs
    if string_not_equals:
        condition["StringNotEqualsIfExists"] = string_not_equals
    return {"Sid": "DenyOutsideDeclaredSources", "Effect": "Deny", "Action": "*",
            "Resource": "*", "Condition": condition}
