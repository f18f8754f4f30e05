"""The demo organization's trail: a bucket of CloudTrail log files with 30 days of plausible
use of its keys, and one key used from an address its owner never declared (issue 16).

Use follows what AWS says of each key: a key is used on most working days from its creation
(or the window's start) up to its last-used date, with the service and region AWS last saw,
from one address of its own; a key unused in the window has no events. The ``ci-deploy-prod``
key is registered with the CI runners' range as its declared sources, and on the last
three days was also used from ``UNDECLARED_ADDRESS`` (reconnaissance-like listing calls), so
``UNEXPECTED_SOURCE`` opens on it and the incident view has something to show.

Log files are written in CloudTrail's own format and layout (``demo.trail_logs``) to one
bucket of the management account, as an organization trail delivers them; ``read_trail``
reads them like any other trail. Only the accounts whose trail logs (prod and staging) have
any: dev has no trail and legacy's is off (``NO_AUDIT_TRAIL``), so their keys show the
Usage panel's empty state. Must run where moto runs (it reads moto's IAM backend).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3

from .policies import CI_RUNNER_CIDRS
from .seed import REGION, DemoOrganization, _iam_backend
from .trail_logs import api_event, put_log

TRAIL_BUCKET = "keyledger-demo-org-trail"
TRAIL_DAYS = 30
# An address in no range the demo declares (RFC 2544's benchmarking block, never routed).
UNDECLARED_ADDRESS = "198.18.44.7"
UNDECLARED_DAYS = 3
# The key registered with declared sources: the prod CI deployer, confined to the runners.
DECLARED_USER = "ci-deploy-prod"
DECLARED_SOURCES = CI_RUNNER_CIDRS
CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12"
SDK = "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1.0 lang/python#3.11.8"

# Per service AWS reports as last used: the event source and the calls such a client makes.
CALLS = {
    "s3": ("s3.amazonaws.com", ("ListBuckets", "GetBucketLocation", "PutObject", "GetObject")),
    "cloudformation": ("cloudformation.amazonaws.com",
                       ("DescribeStacks", "CreateChangeSet", "ExecuteChangeSet")),
    "cloudwatch": ("monitoring.amazonaws.com", ("GetMetricData", "PutMetricData")),
    "sns": ("sns.amazonaws.com", ("Publish", "ListTopics")),
    "sts": ("sts.amazonaws.com", ("GetCallerIdentity", "AssumeRole")),
    "dynamodb": ("dynamodb.amazonaws.com", ("DescribeTable", "GetItem", "PutItem")),
    "ses": ("ses.amazonaws.com", ("SendRawEmail", "GetSendQuota")),
    "ec2": ("ec2.amazonaws.com", ("DescribeInstances", "RunInstances")),
    "iam": ("iam.amazonaws.com", ("ListUsers", "GetUser", "ListAccessKeys")),
}
RECONNAISSANCE = (("sts.amazonaws.com", "GetCallerIdentity"), ("iam.amazonaws.com", "ListUsers"),
                  ("s3.amazonaws.com", "ListBuckets"), ("iam.amazonaws.com",
                                                        "ListAttachedUserPolicies"))


@dataclass(frozen=True)
class TrailSeed:
    bucket: str
    files: int
    events: int
    keys: int
    undeclared_key_id: str  # the key used from UNDECLARED_ADDRESS


def _stable(text: str) -> int:
    """A number that is the same for the same text in every run (unlike ``hash``)."""
    return zlib.crc32(text.encode())


def home_address(account_id: str, user) -> str:
    """Where a user's key is used from: CI runners for ``/ci/`` users, else an address of
    its own in the offices' or on-premises ranges."""
    n = 10 + _stable(f"{account_id}/{user.name}") % 200
    if user.path == "/ci/":
        return f"192.0.2.{n}"
    return f"203.0.113.{n}" if user.path in ("/onprem/", "/integrations/") \
        else f"198.51.100.{n}"


def _midnight(moment: datetime) -> datetime:
    """The start of ``moment``'s day (naive UTC, as moto keeps dates): one log file per
    account, region and day."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _in_use(key_id: str, day: datetime) -> bool:
    """Whether a key is used on ``day`` besides its last-used day (always): most working
    days, a few weekend days; so a month of use is not a solid block."""
    return _stable(f"{key_id}/{day:%Y%m%d}") % 10 < (2 if day.weekday() >= 5 else 6)


def _events_on(key_id: str, user, account_id: str, day: datetime, service: str,
               region: str, now: datetime) -> list[tuple[str, dict]]:
    """(region, record) of one key's calls on one day, none after ``now`` (the key's last
    use): a handful to a dozen, fewer at weekends, a few of them failing."""
    source, names = CALLS.get(service or "", CALLS["sts"])
    seed = _stable(f"{key_id}{day:%Y%m%d}")
    count = 1 + seed % (4 if day.weekday() >= 5 else 12)
    address = home_address(account_id, user)
    agent = CLI if user.path == "/ci/" else SDK
    found = []
    for i in range(count):
        when = day + timedelta(hours=7, minutes=(seed + i * 37) % 600)
        if when > now:
            continue
        found.append((region, api_event(
            access_key_id=key_id, account_id=account_id, when=when, event_source=source,
            event_name=names[(seed + i) % len(names)], region=region, source_ip=address,
            user_agent=agent, user_name=user.name,
            error_code="AccessDenied" if (seed + i) % 29 == 0 else "")))
    return found


def _undeclared_events(key_id: str, user, account_id: str, start: datetime
                       ) -> list[tuple[str, dict]]:
    """Someone else's calls with the key from ``start`` on, for half an hour: listing what
    it can reach, from a laptop."""
    found = []
    for i, (source, name) in enumerate(RECONNAISSANCE * 2):
        when = start + timedelta(minutes=i * 4)
        found.append(("us-east-1", api_event(
            access_key_id=key_id, account_id=account_id, when=when, event_source=source,
            event_name=name, region="us-east-1", source_ip=UNDECLARED_ADDRESS,
            user_agent="aws-cli/2.13.0 Python/3.11.4 Darwin/22.6.0 source/arm64",
            user_name=user.name,
            error_code="AccessDenied" if name == "ListAttachedUserPolicies" else "")))
    return found


def _last_used_by_stranger(key, start: datetime) -> None:
    """AWS's last-used date of the key becomes the stranger's last call (moto's backend:
    no API sets it), so the key page and the trail tell the same story."""
    from moto.iam.models import AccessKeyLastUsed

    last_call = start + timedelta(minutes=4 * (len(RECONNAISSANCE) * 2 - 1))
    key.last_used = AccessKeyLastUsed(timestamp=last_call.replace(microsecond=0),
                                      service="iam", region="us-east-1")


def seed_trail(org: DemoOrganization, *, now: datetime | None = None,
               days: int = TRAIL_DAYS) -> TrailSeed:
    """Write ``days`` days of log files, ending today, for every active key of ``org``."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    today = _midnight(now)
    first = today - timedelta(days=days - 1)
    s3 = boto3.Session(region_name=REGION).client("s3")
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    files = events = 0
    used: set[str] = set()
    undeclared_key = ""
    logging = {account_id for account_id, _user in org.situations["trail_logging"]}
    for account in org.accounts:
        if account.account_id not in logging:
            continue  # no logging trail in the account: CloudTrail has nothing of it
        backend = _iam_backend(account.account_id)
        logs: dict[tuple[str, datetime], list[dict]] = defaultdict(list)
        for user in backend.users.values():
            for key in user.access_keys:
                if key.status != "Active" or key.last_used is None:
                    continue
                last = _midnight(key.last_used.timestamp)
                start = max(first, _midnight(key.create_date))
                day = start
                while day <= min(last, today):
                    if day != last and not _in_use(key.access_key_id, day):
                        day += timedelta(days=1)
                        continue
                    for region, record in _events_on(key.access_key_id, user,
                                                     account.account_id, day,
                                                     key.last_used.service,
                                                     key.last_used.region,
                                                     min(now, key.last_used.timestamp)):
                        logs[(region, day)].append(record)
                    used.add(key.access_key_id)
                    day += timedelta(days=1)
                if user.name == DECLARED_USER and account.name == "prod":
                    undeclared_key = key.access_key_id
                    for back in range(UNDECLARED_DAYS):
                        start = now - timedelta(days=back, hours=3)
                        day = _midnight(start)
                        for region, record in _undeclared_events(
                                key.access_key_id, user, account.account_id, start):
                            logs[(region, day)].append(record)
                    _last_used_by_stranger(key, now - timedelta(hours=3))
        for (region, day), records in sorted(logs.items()):
            put_log(s3, bucket=TRAIL_BUCKET, account_id=account.account_id, region=region,
                    when=day + timedelta(hours=23, minutes=55), records=records,
                    suffix=f"demo{_stable(account.account_id + region) % 10**8:08d}")
            files += 1
            events += len(records)
    if not undeclared_key:
        raise RuntimeError(f"no active key of {DECLARED_USER} in prod for the demo's trail")
    return TrailSeed(bucket=TRAIL_BUCKET, files=files, events=events, keys=len(used),
                     undeclared_key_id=undeclared_key)


def register_declared_key(trail: TrailSeed):
    """Its owner registers the prod CI deployer's key, declaring the CI runners' range as its
    only source, through the service the purpose form uses (audited, re-evaluated): the
    trail's undeclared address then opens ``UNEXPECTED_SOURCE``. The registration."""
    from governance.models import AccessKey
    from governance.services.keys import RegistrationInput, purpose_register

    key = AccessKey.objects.select_related("owner").get(access_key_id=trail.undeclared_key_id)
    if key.owner is None:
        raise RuntimeError(f"{DECLARED_USER}'s key has no owner to register it")
    return purpose_register(actor=key.owner, key=key, data=RegistrationInput(
        category="ci_cd", runs_where="Self-hosted CI runners in the build network",
        justification="Deploys the prod CloudFormation stacks from the CI runners.",
        why_not_iam_role="The runners are outside AWS.",
        why_not_identity_center="A pipeline, not a person.",
        why_not_sts="OIDC federation is planned for the next runner upgrade.",
        source_restriction="", declared_sources=list(DECLARED_SOURCES),
        rotation_procedure="Quarterly: new key in the CI secret store, then delete the old.",
        deactivation_contact="platform on-call (#platform-oncall)"))
