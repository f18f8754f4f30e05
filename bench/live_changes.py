"""Live changes: freshness from an IAM event on the queue to the key in the inventory, and
AWS calls per event.

Everything goes through a moto server in this process, as production would through AWS: the
key-change queue and its dead-letter queue, the EventBridge rule with the shipped template's
event pattern (``deploy/aws/keyledger-events.cfn.yaml``), ``--accounts`` member accounts
registered through the reader role and synced once (their users are known, as in steady
state). The consumer is the real command, ``manage.py consume_events``, in its own process
against a scratch Postgres database. Then:

1. backlog: ``--backlog`` keys are created and their ``CreateAccessKey`` events put on the bus
   at once; ``consume_events --once`` drains them: events per second of one consumer
   (from the first to the last key stored) and AWS calls per event;
2. freshness: the consumer runs continuously (long polling) while ``--events`` keys are
   created, one ``CreateAccessKey`` event each, at half the backlog rate; for each key, the
   time from the event being on the queue (``put_events`` returned: moto delivers
   synchronously) to the key's row in the inventory (``first_seen_at``), p50 / p95 / max,
   and whether each key's owner (by tag) was asked to register it (open ``NO_PURPOSE``).

    .venv/bin/python -m bench.live_changes --out /tmp/l.md            # 1,000 events
    .venv/bin/python -m bench.live_changes --out /tmp/l.md --quick    # 100 events
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.section import django_in_process, empty_database, section_parser, write_fragment

BENCH_DB = "keyledger_bench_live"
ROOT = Path(__file__).resolve().parent.parent
OWNER = "owner@example.com"
QUEUE = "keyledger-iam-changes"






def _event_pattern() -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = (ROOT / "deploy" / "aws" / "keyledger-events.cfn.yaml").read_text()
    template = yaml.load(text, Loader)  # noqa: S506 - a SafeLoader subclass
    return template["Resources"]["LocalRule"]["Properties"]["EventPattern"]


def _member_iam(account_id: str):
    import boto3

    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/KeyledgerReader",
        RoleSessionName="bench")["Credentials"]
    return boto3.client("iam", region_name="us-east-1",
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


class Organization:
    """Member accounts with users (owner-tagged), the queue and the rule."""

    def __init__(self, accounts: int, users: int):
        import boto3

        from accounts.models import Person
        from governance.models import AwsAccount
        from governance.sync import sync_account

        Person.objects.create(email=OWNER, name="Owner")
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.url = sqs.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events = boto3.client("events", region_name="us-east-1")
        self.events.put_rule(Name="keyledger", EventPattern=json.dumps(_event_pattern()))
        self.events.put_targets(Rule="keyledger", Targets=[{"Id": "q", "Arn": arn}])
        self.accounts = [f"{200000000000 + n:012d}" for n in range(accounts)]
        self.iam = {a: _member_iam(a) for a in self.accounts}
        self.users: list[tuple[str, str]] = []
        for n in range(users):
            account = self.accounts[n % accounts]
            name = f"svc-{n:05d}"
            self.iam[account].create_user(UserName=name, Tags=[{"Key": "owner",
                                                                "Value": OWNER}])
            self.users.append((account, name))
        for account in self.accounts:
            row = AwsAccount.objects.create(
                account_id=account, name=f"member-{account[-4:]}", external_id="bench-ext",
                role_arn=f"arn:aws:iam::{account}:role/KeyledgerReader")
            sync_account(account=row)

    def create_key(self, index: int) -> tuple[str, float]:
        """Create the next key in AWS and put its CloudTrail event; (key id, on-queue time)."""
        account, name = self.users[index]
        key = self.iam[account].create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        record = {"eventVersion": "1.09", "eventSource": "iam.amazonaws.com",
                  "eventName": "CreateAccessKey", "eventID": f"bench-{index}",
                  "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "awsRegion": "us-east-1", "recipientAccountId": account,
                  "userIdentity": {"type": "AssumedRole", "accountId": account},
                  "requestParameters": {"userName": name},
                  "responseElements": {"accessKey": {"accessKeyId": key, "userName": name,
                                                     "status": "Active"}}}
        self.events.put_events(Entries=[{
            "Source": "aws.iam", "DetailType": "AWS API Call via CloudTrail",
            "Detail": json.dumps(record)}])
        return key, time.time()


def _consumer(environment: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - this repository's own command
        [sys.executable, "manage.py", "consume_events", *args],
        cwd=ROOT, env={**os.environ, **environment},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _calls(output: str) -> dict[str, int]:
    """The command's summary: ``... N AWS calls: iam:ListAccessKeys=3, ...``."""
    found = re.search(r"AWS calls: (.*)$", output.strip().splitlines()[-1])
    return {name: int(n) for name, n in
            (item.split("=") for item in found.group(1).split(", ") if "=" in item)} \
        if found else {}


def _stored(keys: list[str]) -> dict[str, datetime]:
    from governance.models import AccessKey

    return dict(AccessKey.objects.filter(access_key_id__in=keys)
                .values_list("access_key_id", "first_seen_at"))


def backlog(org: Organization, environment: dict, count: int, start: int) -> dict:
    keys = [org.create_key(start + i)[0] for i in range(count)]
    started = time.perf_counter()
    process = _consumer(environment, "--once")
    output, _ = process.communicate(timeout=3600)
    wall = time.perf_counter() - started
    stored = _stored(keys)
    moments = sorted(stored.values())
    span = (moments[-1] - moments[0]).total_seconds() if len(moments) > 1 else wall
    return {"events": count, "stored": len(stored), "seconds": span, "wall": wall,
            "rate": (len(moments) - 1) / span if span else 0.0, "calls": _calls(output)}


def freshness(org: Organization, environment: dict, count: int, start: int,
              rate: float) -> dict:
    from governance.models import AccessKey, Finding

    process = _consumer(environment)
    time.sleep(3)  # Django's start-up, so the first event does not measure it
    put: dict[str, float] = {}
    interval = 1 / rate
    began = time.perf_counter()
    for i in range(count):
        key, at = org.create_key(start + i)
        put[key] = at
        delay = began + (i + 1) * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    deadline = time.time() + 120
    while len(_stored(list(put))) < count and time.time() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    stored = _stored(list(put))
    seconds = sorted(max(0.0, stored[k].timestamp() - put[k]) for k in stored)
    asked = Finding.objects.filter(key__access_key_id__in=list(put), code="NO_PURPOSE",
                                   resolved_at__isnull=True, key__owner__email=OWNER).count()
    owned = AccessKey.objects.filter(access_key_id__in=list(put), owner__email=OWNER).count()
    quantiles = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else seconds * 99
    return {"events": count, "stored": len(stored), "rate": rate, "asked": asked,
            "owned": owned, "p50": quantiles[49], "p95": quantiles[94],
            "max": seconds[-1] if seconds else 0.0, "within_60": sum(s <= 60 for s in seconds),
            "calls": _calls(output)}


def _per_event(calls: dict[str, int], events: int) -> tuple[float, float]:
    """(calls per event without AssumeRole, AssumeRole per event): a consumer process
    assumes each account's role once."""
    assume = calls.get("sts:AssumeRole", 0)
    return (sum(calls.values()) - assume) / max(events, 1), assume / max(events, 1)


def _fragment(args, drained: dict, fresh: dict) -> str:
    per_event, assume = _per_event(drained["calls"], drained["stored"])
    fresh_per_event, _ = _per_event(fresh["calls"], fresh["stored"])
    by_action = ", ".join(f"`{name}` {n / max(drained['stored'], 1):.2f}"
                          for name, n in sorted(drained["calls"].items()))
    return "\n".join([
        "## Live changes: event on the queue to key in the inventory",
        "",
        f"{args.accounts} member accounts (users known from a first sync), the rule with the "
        "shipped template's event pattern on moto's EventBridge delivering to moto's SQS; "
        "the consumer is `manage.py consume_events` in its own process, one message at a "
        "time, against Postgres. Each event is a `CreateAccessKey` of an owner-tagged user.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| backlog drained by one consumer | {drained['stored']} of {drained['events']} "
        f"events, {drained['rate']:.1f} events/s |",
        f"| AWS calls per key event (refresh) | {per_event:.2f} ({by_action}); target <= 3 |",
        f"| AssumeRole per event | {assume:.3f} (once per account per consumer process) |",
        f"| freshness, paced at {fresh['rate']:.1f} events/s | {fresh['stored']} of "
        f"{fresh['events']} keys stored; p50 {fresh['p50']:.2f} s, p95 {fresh['p95']:.2f} s, "
        f"max {fresh['max']:.2f} s; {fresh['within_60']} within 60 s |",
        f"| AWS calls per event while paced | {fresh_per_event:.2f} |",
        f"| owner resolved by tag / asked to register (open `NO_PURPOSE`) | {fresh['owned']} / "
        f"{fresh['asked']} of {fresh['stored']} |",
        "",
        "Freshness is one refresh (two IAM calls and one user's evaluation) plus the long "
        "poll's pick-up; a backlog adds its queueing time, which more consumer processes on "
        "the same queue divide. The tail (p95, max) holds each account's first event, which "
        "assumes the role and builds the clients, and whatever else the machine ran: the "
        "moto server shares this process with the producer.",
        "",
    ])


def main() -> int:
    parser = section_parser(__doc__, quick_help="100 events", out_required=False)
    parser.add_argument("--events", type=int, help="paced events (default 1,000)")
    parser.add_argument("--backlog", type=int, help="events drained at once (default 300)")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--rate", type=float, help="paced events per second "
                                                   "(default: half the backlog rate)")
    parser.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    args.events = args.events or (100 if args.quick else 1000)
    args.backlog = args.backlog or (50 if args.quick else 300)

    from demo.emulator import EmulatedAws

    emulator = EmulatedAws().start()
    database_url = empty_database(args.postgres, BENCH_DB)
    environment = {"DATABASE_URL": database_url, "SECRET_KEY": "bench-only",
                   "DJANGO_SETTINGS_MODULE": "config.settings", "AWS_ENDPOINT_URL": emulator.url,
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "KEYLEDGER_LOG_LEVEL": "WARNING",
                   "KEYLEDGER_EVENTS_WAIT_SECONDS": "2"}
    django_in_process(environment)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    org = Organization(args.accounts, args.backlog + args.events)
    environment["KEYLEDGER_EVENTS_QUEUE_URL"] = org.url
    drained = backlog(org, environment, args.backlog, 0)
    print(f"backlog: {drained}", flush=True)
    rate = args.rate or max(1.0, drained["rate"] / 2)
    fresh = freshness(org, environment, args.events, args.backlog, rate)
    print(f"freshness: {fresh}", flush=True)
    emulator.stop()
    fragment = _fragment(args, drained, fresh)
    write_fragment(args.out, fragment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
