"""What a key's registration can be built from: the places and actions CloudTrail saw.

The purpose registration pre-fills the declared sources with the key's own addresses in the
evidence window, and suggests a least-privilege policy from every action it made there
(``governance.least_privilege``). Two queries, whatever the window holds.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings

from governance.models import AccessKey
from governance.sources import SourceError, is_ip_address, parse_source

from .models import KeyUsageAddress, KeyUsageDay
from .summary import window_start


@dataclass(frozen=True)
class Observed:
    """``sources``: each address the key was used from (not an AWS service acting for it),
    canonical (``/32``, ``/128``), or the VPC endpoint its calls came through, most events
    first; ``actions``: every action counted, in name order."""

    window_days: int
    sources: tuple[str, ...]
    actions: tuple[str, ...]


def _place(address: str, endpoint: str) -> str:
    """The declarable place of one address row: its endpoint when its calls came through
    one, else the address as a one-address CIDR; '' for a service name or anything odd."""
    if not is_ip_address(address):
        return ""
    for text in (endpoint, address):
        if text:
            try:
                return parse_source(text).value
            except SourceError:
                continue
    return ""


def observed_in_window(key: AccessKey, *, today: date) -> Observed:
    """``key``'s sources and actions over the evidence window ending ``today`` (UTC)."""
    days = settings.KEYLEDGER_EVIDENCE_DAYS
    if not key.access_key_id:
        return Observed(days, (), ())
    in_window = {"access_key_id": key.access_key_id, "day__gte": window_start(today, days),
                 "day__lte": today}
    events: dict[str, int] = {}
    for address, endpoint, count in (KeyUsageAddress.objects.filter(
            **in_window, via_aws_service=False)
            .values_list("address", "vpc_endpoint_id", "events")):
        place = _place(address, endpoint)
        if place:
            events[place] = events.get(place, 0) + count
    actions: set[str] = set()
    for counted in KeyUsageDay.objects.filter(**in_window).values_list("actions", flat=True):
        actions.update(counted or {})
    return Observed(days, tuple(sorted(events, key=lambda place: (-events[place], place))),
                    tuple(sorted(actions)))
