"""A realistic Keyledger database of any size, written straight into Postgres.

The benchmarks need 20,000 to 100,000 keys; going through AWS (even emulated) would take
hours, so this writes the rows the sync would have written with ``bulk_create``, then lets
the real evaluation (``governance.evaluation``) compute owners, findings and compliance,
so every finding and summary column is what production would store, not a guess.

The mix: a few hundred people with managers (some left, a security team); accounts with
and without a logging CloudTrail; IAM users with owner tags (known, unknown and departed
people), console passwords, one or two keys, policies from admin to source-restricted;
keys of both statuses and every age; root keys; purpose registrations (current, lapsed and
superseded); exceptions in every state; resolved findings for history; daily snapshots
for 400 days. Deterministic for a given seed.

    from bench.scale_data import generate   # after django.setup() and migrate
    stats = generate(accounts=1000, keys=100_000)
"""

import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BATCH = 5000
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
BENCH_VAR = Path(__file__).resolve().parent.parent / "var" / "bench"
SECURITY_PASSWORD = "bench-only-password"  # noqa: S105 - scratch databases only
SECURITY_EMAIL = "security@bench.example"
SERVICES = ("s3", "sts", "ec2", "dynamodb", "sqs", "lambda", "")
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "")

# Policy sets a user can carry, with how often they occur. Each document decides the
# permission and source findings the evaluation will raise.
_ALLOW_S3 = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": "arn:aws:s3:::bench-bucket/*"}
POLICIES = {
    "admin": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "s3-anywhere": {"Version": "2012-10-17", "Statement": [_ALLOW_S3]},
    "s3-from-office": {"Version": "2012-10-17", "Statement": [
        {**_ALLOW_S3, "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}}]},
    "deny-outside-vpce": {"Version": "2012-10-17", "Statement": [
        _ALLOW_S3,
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0bench"}}}]},
}
POLICY_MIX = (("s3-from-office", 45), ("deny-outside-vpce", 25), ("s3-anywhere", 22),
              ("admin", 8))


@dataclass
class Stats:
    """What was written and how long each step took (seconds), for the report."""

    people: int = 0
    accounts: int = 0
    users: int = 0
    keys: int = 0
    registrations: int = 0
    exceptions: int = 0
    findings_open: int = 0
    findings_resolved: int = 0
    snapshots: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self, stats: Stats):
        self.stats, self.started = stats, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.stats.seconds[step] = round(now - self.started, 2)
        self.started = now


def _pick(rng: random.Random, mix) -> str:
    return rng.choices([name for name, _ in mix], weights=[w for _, w in mix])[0]


def _people(rng: random.Random, n: int):
    """A security team, managers and staff; a few have left. Returns (all, active staff)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.models import Person

    unusable = make_password(None)
    security = Person(email=SECURITY_EMAIL, name="Bench Security",
                      password=make_password(SECURITY_PASSWORD))
    managers = [Person(email=f"manager{i}@bench.example", name=f"Manager {i}",
                       password=unusable) for i in range(max(2, n // 25))]
    Person.objects.bulk_create([security, *managers])
    staff = [Person(email=f"person{i}@bench.example", name=f"Person {i}", password=unusable,
                    manager=rng.choice(managers), is_active=rng.random() > 0.04)
             for i in range(n)]
    Person.objects.bulk_create(staff, batch_size=BATCH)
    security_group, _ = Group.objects.get_or_create(name="security")
    manager_group, _ = Group.objects.get_or_create(name="manager")
    security.groups.add(security_group)
    manager_group.user_set.add(*managers)
    return [security, *managers, *staff], [p for p in staff if p.is_active]


def _policy_documents():
    import hashlib
    import json

    from governance.models import PolicyDocument

    digests = {}
    for name, document in POLICIES.items():
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
        PolicyDocument.objects.update_or_create(digest=digest, defaults={"document": document})
        digests[name] = digest
    return digests


def _accounts(rng: random.Random, n: int, now: datetime):
    from governance.models import AwsAccount

    rows = [AwsAccount(account_id=f"{300000000000 + i:012d}", name=f"bench-{i:04d}",
                       role_arn=f"arn:aws:iam::{300000000000 + i:012d}:role/KeyledgerReader",
                       source=AwsAccount.Source.ORGANIZATIONS,
                       cloudtrail_logging=rng.random() > 0.1, root_keys_present=False,
                       last_synced_at=now - timedelta(hours=rng.choice((1, 1, 2, 3, 30))),
                       credential_report_at=now - timedelta(hours=1))
            for i in range(n)]
    return AwsAccount.objects.bulk_create(rows, batch_size=BATCH)


def _owner_tags(rng: random.Random, people, staff) -> dict:
    """Owner tags: mostly a known active person; some departed, unknown or missing."""
    roll = rng.random()
    tags = {"team": rng.choice(("payments", "data", "platform", "web", "ops"))}
    if roll < 0.70:
        tags[rng.choice(("owner", "Owner", "owner-email"))] = rng.choice(staff).email
    elif roll < 0.78:
        tags["owner"] = rng.choice(people).email  # may have left
    elif roll < 0.85:
        tags["owner"] = f"contractor{rng.randrange(500)}@elsewhere.example"
    return tags


def _users_and_keys(rng: random.Random, accounts, people, staff, n_keys: int,
                    digests: dict, now: datetime):
    """IAM users (one or two keys each, a root user per account) and their keys."""
    from governance.models import ROOT_USER_NAME, AccessKey, IamUser

    per_account = max(1, n_keys // len(accounts))
    users, keys_per_user = [], []
    serial = 0
    for account in accounts:
        budget = per_account
        users.append(IamUser(account=account, user_id=account.account_id, name=ROOT_USER_NAME,
                             arn=f"arn:aws:iam::{account.account_id}:root"))
        keys_per_user.append(1 if rng.random() < 0.03 else 0)
        while budget > 0:
            serial += 1
            two = budget > 1 and rng.random() < 0.25
            policy = _pick(rng, POLICY_MIX)
            name = f"svc-{rng.choice(('ci', 'etl', 'backup', 'sftp', 'app', 'dev'))}-{serial}"
            users.append(IamUser(
                account=account, user_id=f"AIDA{serial:016d}", name=name,
                arn=f"arn:aws:iam::{account.account_id}:user/{name}",
                created_at=now - timedelta(days=rng.randrange(30, 2000)),
                password_enabled=rng.random() < 0.08, tags=_owner_tags(rng, people, staff),
                policies=[{"source": "user-attached", "name": policy,
                           "arn": f"arn:aws:iam::{account.account_id}:policy/{policy}",
                           "group": "", "digest": digests[policy]}]))
            keys_per_user.append(2 if two else 1)
            budget -= keys_per_user[-1]
    IamUser.objects.bulk_create(users, batch_size=BATCH)
    keys, serial = [], 0
    for user, count in zip(users, keys_per_user, strict=True):
        for slot in range(count):
            serial += 1
            age = _key_age(rng)
            created = now - timedelta(days=age, seconds=rng.randrange(86400))
            used = None if rng.random() < 0.08 else created + (now - created) * rng.random()
            status = AccessKey.Status.ACTIVE if rng.random() < 0.85 else AccessKey.Status.INACTIVE
            root = user.name == ROOT_USER_NAME
            keys.append(AccessKey(
                account_id=user.account_id, user=user, status=status, created_at=created,
                access_key_id=None if root else f"AKIA{serial:016X}",
                slot=slot + 1 if root else None,
                last_used_at=used, last_used_service=rng.choice(SERVICES) if used else "",
                last_used_region=rng.choice(REGIONS) if used else "",
                removed_at=now - timedelta(days=rng.randrange(1, 300))
                if rng.random() < 0.02 else None,
                assigned_owner=rng.choice(staff) if rng.random() < 0.15 else None))
    AccessKey.objects.bulk_create(keys, batch_size=BATCH)
    return users, keys


def _key_age(rng: random.Random) -> int:
    """Days since creation: many young keys, a band near the rotation limit, a long tail."""
    band = rng.random()
    if band < 0.45:
        return rng.randrange(0, 77)
    if band < 0.55:
        return rng.randrange(77, 91)
    if band < 0.85:
        return rng.randrange(91, 400)
    return rng.randrange(400, 3000)


def _registrations(rng: random.Random, keys, staff, now: datetime) -> int:
    """Current, lapsed and superseded purpose registrations on about 60% of the keys."""
    from governance.models import PurposeCategory, Registration

    rows = []
    categories = [c.value for c in PurposeCategory]
    for key in keys:
        if key.access_key_id is None or rng.random() > 0.6:
            continue
        owner = rng.choice(staff)
        registered = now - timedelta(days=rng.randrange(1, 400))
        common = {"key": key, "owner": owner, "category": rng.choice(categories),
                  "runs_where": "GitHub Actions", "justification": "Vendor needs a key.",
                  "why_not_iam_role": "Runs outside AWS.", "why_not_identity_center": "No human.",
                  "why_not_sts": "Vendor cannot assume roles.",
                  "source_restriction": "203.0.113.0/24", "rotation_procedure": "Quarterly.",
                  "deactivation_contact": owner.email}
        if rng.random() < 0.2:  # an older registration it replaced
            rows.append(Registration(**common, registered_at=registered - timedelta(days=180),
                                     review_due_on=(registered - timedelta(days=1)).date(),
                                     superseded_at=registered))
        rows.append(Registration(**common, registered_at=registered,
                                 review_due_on=(registered + timedelta(days=180)).date()))
    Registration.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _exceptions(rng: random.Random, keys, staff, now: datetime) -> int:
    """Exceptions in every state; approved ones on overdue or admin keys, so they cover."""
    from governance.models import AccessKey, ExceptionRequest

    Status = ExceptionRequest.Status
    rows, today = [], now.date()
    for key in keys:
        if key.access_key_id is None or key.status != AccessKey.Status.ACTIVE:
            continue
        if rng.random() > 0.04:
            continue
        requester, decider = rng.sample(staff, 2)
        age = (now - key.created_at).days
        code = "ROTATION_OVERDUE" if age > 90 else rng.choice(("UNUSED", "NO_SOURCE_RESTRICTION"))
        status = rng.choice((Status.APPROVED, Status.APPROVED, Status.REQUESTED, Status.REJECTED,
                             Status.WITHDRAWN, Status.EXPIRED, Status.REVOKED))
        decided = status not in (Status.REQUESTED, Status.WITHDRAWN)
        closed = status in (Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED, Status.REVOKED)
        rows.append(ExceptionRequest(
            key=key, code=code, requested_by=requester, status=status,
            justification="Vendor migration planned next quarter.",
            expires_on=today + timedelta(days=rng.randrange(-30, 90) if closed
                                         else rng.randrange(5, 90)),
            requested_at=now - timedelta(days=rng.randrange(5, 60)),
            decided_by=decider if decided else None,
            decided_at=now - timedelta(days=rng.randrange(1, 5)) if decided else None,
            closed_at=now - timedelta(days=1) if closed else None))
    ExceptionRequest.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _resolved_findings(rng: random.Random, keys, now: datetime) -> int:
    """Findings opened and fixed in the past, so key pages and time-to-fix have history."""
    from governance.models import Finding
    from governance.policy import RULES

    rows = []
    codes = sorted(RULES)
    for key in keys:
        if rng.random() > 0.3:
            continue
        code = rng.choice(codes)
        rule = RULES[code]
        opened = now - timedelta(days=rng.randrange(20, 400))
        rows.append(Finding(key=key, code=code, element=rule.element.value,
                            severity=rule.severity.value, reason=f"{rule.title} (history)",
                            opened_at=opened,
                            resolved_at=opened + timedelta(days=rng.randrange(1, 19))))
    Finding.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _snapshot_history(days: int, today: date) -> int:
    """Today's real snapshot, then earlier days drifting back from it, written by Postgres.

    History covers the dimensions the trend chart reads (active keys, compliance), for
    every account and day; per-code and per-element counts exist for today only, which is
    all the overview reads of them. Generated server-side: millions of rows in seconds.
    """
    from django.db import connection

    from governance.models import DailySnapshot
    from governance.trends import snapshot_take

    snapshot_take(day=today)
    table = DailySnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(f"""
            INSERT INTO {table} (day, account_id, dimension, name, count)
            SELECT s.day - g.back, s.account_id, s.dimension, s.name,
                   GREATEST(0, round(s.count * (0.97 + random() * 0.06) * CASE
                       WHEN s.name = 'compliant' THEN 1 / (1 + g.back / (2.0 * %s))
                       ELSE 1 + g.back / (2.0 * %s) END))::int
            FROM {table} s CROSS JOIN generate_series(1, %s - 1) AS g(back)
            WHERE s.day = %s AND s.dimension IN ('keys', 'compliance')""",  # noqa: S608
                       [days, days, days, today])
    return DailySnapshot.objects.count()


def generate(*, accounts: int, keys: int, people: int = 300, snapshot_days: int = 400,
             seed: int = 20240601, now: datetime | None = None) -> Stats:
    """Fill the (migrated, empty) database; returns counts and per-step timings."""
    from django.db import transaction

    from governance.evaluation import evaluate_keys

    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    stats = Stats()
    clock = _Clock(stats)
    with transaction.atomic():
        everyone, staff = _people(rng, people)
        digests = _policy_documents()
        account_rows = _accounts(rng, accounts, now)
        users, key_rows = _users_and_keys(rng, account_rows, everyone, staff, keys, digests, now)
        clock.lap("people, accounts, users, keys")
        _registrations(rng, key_rows, staff, now)
        _exceptions(rng, key_rows, staff, now)
        _resolved_findings(rng, key_rows, now)
        clock.lap("registrations, exceptions, history")
    with transaction.atomic():
        evaluate_keys(now=now)
    clock.lap("first evaluation (findings, owners, compliance)")
    with transaction.atomic():
        _snapshot_history(snapshot_days, now.date())
    clock.lap("daily snapshots")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    clock.lap("analyze")
    return stats_of_database(stats)


def stats_of_database(stats: Stats | None = None) -> Stats:
    """The row counts of the database as it is (for a report on a reused database)."""
    from accounts.models import Person
    from governance.models import (
        AccessKey,
        AwsAccount,
        DailySnapshot,
        ExceptionRequest,
        Finding,
        IamUser,
        Registration,
    )

    stats = stats or Stats()
    stats.people, stats.accounts = Person.objects.count(), AwsAccount.objects.count()
    stats.users, stats.keys = IamUser.objects.count(), AccessKey.objects.count()
    stats.registrations = Registration.objects.count()
    stats.exceptions = ExceptionRequest.objects.count()
    stats.findings_open = Finding.objects.filter(resolved_at__isnull=True).count()
    stats.findings_resolved = Finding.objects.filter(resolved_at__isnull=False).count()
    stats.snapshots = DailySnapshot.objects.count()
    return stats


def prepare_database(name: str, base_url: str = POSTGRES) -> str:
    """Drop and recreate scratch database ``name``; returns its URL for DATABASE_URL."""
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base_url}/{name}"


def production_environment(database_url: str) -> dict[str, str]:
    """Environment for production settings (DEBUG off) on this machine, over plain HTTP.

    The benchmarks measure what production would serve, so DEBUG stays off; only what needs
    TLS is turned off (the HTTPS redirect, secure-only cookies) and the static manifest
    lives in ``var/bench``. The secret key is a throwaway for scratch databases.
    """
    return {
        "DATABASE_URL": database_url, "DEBUG": "false", "SECRET_KEY": "bench-only-not-secret",
        "DJANGO_SETTINGS_MODULE": "config.settings", "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "KEYLEDGER_SSL_REDIRECT": "false", "KEYLEDGER_SECURE_COOKIES": "false",
        "KEYLEDGER_HSTS_SECONDS": "0", "KEYLEDGER_VAR_DIR": str(BENCH_VAR),
        "KEYLEDGER_LOG_LEVEL": "WARNING",
    }


def setup_scratch(name: str, *, fresh: bool = True) -> dict[str, str]:
    """Point this process's Django at scratch database ``name`` and make it ready.

    ``fresh`` drops, recreates and migrates the database; the static files are collected
    (production settings serve them from a manifest). Returns the environment used, for
    servers the benchmark starts.
    """
    url = prepare_database(name) if fresh else f"{POSTGRES}/{name}"
    environment = production_environment(url)
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a reused database may predate a migration
    if not (BENCH_VAR / "static" / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    return environment


def main() -> None:
    """Fill a scratch database by hand: ``python -m bench.scale_data --db NAME --keys N``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="keyledger_bench_scale")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--keys", type=int, default=2000)
    args = parser.parse_args()
    setup_scratch(args.db)
    print(generate(accounts=args.accounts, keys=args.keys))


if __name__ == "__main__":
    main()
