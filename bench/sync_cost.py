"""Sync cost on the demo organization: AWS calls, queries and rows per account.

Runs the real sync against in-process moto (seeded by ``demo.seed``) and a scratch Postgres
database, twice: the first sync, then an unchanged re-sync. Prints a Markdown table.

    make bench-sync          (or: .venv/bin/python -m bench.sync_cost --users-per-account 300)
"""

import argparse
import os
import sys
import time

BENCH_DB = "keyledger_bench"


def _prepare_database(base_url: str) -> str:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return f"{base_url}/{BENCH_DB}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users-per-account", type=int, default=None,
                        help="default: the demo set (about 15 users per account)")
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = _prepare_database(args.postgres)
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["KEYLEDGER_REPORT_POLL_FIRST_SECONDS"] = "0.05"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import logging

    import django

    django.setup()
    logging.getLogger("keyledger").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from moto import mock_aws

    from demo.seed import DEMO_EXTERNAL_ID, seed_organization
    from governance.models import AccessKey, AwsAccount
    from governance.sync import sync_account

    call_command("migrate", verbosity=0)
    with mock_aws():
        org = seed_organization(users_per_account=args.users_per_account,
                                accounts=args.accounts)
        accounts = [AwsAccount.objects.create(
            account_id=a.account_id, name=a.name, external_id=DEMO_EXTERNAL_ID,
            role_arn=f"arn:aws:iam::{a.account_id}:role/{org.reader_role_name}")
            for a in org.accounts]
        print("| account | users | users with keys | keys | pass | AWS calls | ListAccessKeys "
              "| DB queries | rows written | seconds |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for label in ("first sync", "unchanged re-sync"):
            for account in accounts:
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    run = sync_account(account=account).run
                elapsed = time.perf_counter() - started
                with_keys = (AccessKey.objects.filter(account=account, slot__isnull=True)
                             .values("user").distinct().count())
                print(f"| {account.name} | {run.users_seen} | {with_keys} | {run.keys_seen} "
                      f"| {label} | {run.aws_calls} "
                      f"| {run.aws_calls_by_action.get('iam:ListAccessKeys', 0)} "
                      f"| {len(queries.captured_queries)} | {run.rows_written} "
                      f"| {elapsed:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
