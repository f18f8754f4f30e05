"""A least-privilege policy from what a key actually did, and the judgement on it.

The registration form suggests, beside the declared sources, the policy a key's user would
need if it kept doing only what CloudTrail saw it do in the evidence window: one Allow per
service naming exactly the observed actions, plus the Deny guard that confines the key to
its declared sources (``governance.sources.deny_guard``). The same analyser that
``manage.py check_policy`` and ``POST /api/v1/policy-check/`` use judges the suggestion, so
the owner sees before applying it whether it would clear ``ADMIN_PRIVILEGE``,
``PRIVILEGE_ESCALATION`` and ``NO_SOURCE_RESTRICTION``.

Resources stay ``*``: CloudTrail's per-day counts keep actions, not the resources they
touched, so the owner narrows them (the suggestion says so). Pure: no Django, no AWS.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .iam_policy import PermissionVerdict, PolicySource, analyse_permissions
from .sources import Source, deny_guard

# IAM's spelling of an action: ``service:Name``. Anything else the trail counted (the
# "(other)" bucket of an address with too many distinct actions, a clipped name) is left
# out of the policy and reported, never guessed at.
IAM_ACTION = re.compile(r"([a-z0-9-]+):[A-Za-z0-9]+")  # group 1: the service
SUGGESTED_NAME = "keyledger-suggested"
RESOURCE_NOTE = ("Resource is \"*\": CloudTrail's counts name actions, not the resources they "
                 "touched. Narrow each statement to the ARNs the workload uses. CloudTrail's "
                 "event names are IAM's action names for nearly every call; a few differ "
                 "(S3's ListBuckets is s3:ListAllMyBuckets).")


@dataclass(frozen=True)
class Suggestion:
    """The suggested policy (Allows, then the guard when sources are declared), the
    observed values left out of it, and the analyser's verdict on it."""

    policy: dict
    skipped: tuple[str, ...]
    verdict: PermissionVerdict

    @property
    def actions(self) -> int:
        """How many actions the policy allows."""
        return sum(len(st["Action"]) for st in self.policy["Statement"]
                   if st["Effect"] == "Allow")


def _sid(service: str) -> str:
    """A statement id for ``service`` (IAM allows only letters and digits): ``AllowS3``,
    ``AllowElasticloadbalancing``."""
    return "Allow" + "".join(part.capitalize() for part in service.split("-"))


def allow_statements(actions: Iterable[str]) -> tuple[list[dict], tuple[str, ...]]:
    """One Allow per service with exactly ``actions`` (sorted, once each), services in
    name order, and the values that are not IAM actions (sorted)."""
    by_service: dict[str, set[str]] = {}
    skipped = set()
    for action in actions:
        match = IAM_ACTION.fullmatch(action)
        if match:
            by_service.setdefault(match.group(1), set()).add(action)
        else:
            skipped.add(action)
    statements = [{"Sid": _sid(service), "Effect": "Allow",
                   "Action": sorted(by_service[service]), "Resource": "*"}
                  for service in sorted(by_service)]
    return statements, tuple(sorted(skipped))


def suggest(actions: Iterable[str], sources: Sequence[Source]) -> Suggestion:
    """The least-privilege policy for ``actions`` confined to ``sources`` (no guard when
    none are declared), judged as a user-inline policy named ``SUGGESTED_NAME``."""
    statements, skipped = allow_statements(actions)
    if sources:
        statements.append(deny_guard(sources))
    policy = {"Version": "2012-10-17", "Statement": statements}
    verdict = analyse_permissions([PolicySource("user-inline", SUGGESTED_NAME, policy)])
    return Suggestion(policy, skipped, verdict)
