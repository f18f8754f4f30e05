"""Writing evaluation results: ``UPDATE … FROM (VALUES …)`` against Django's ``bulk_update``.

``governance.bulk_write.update_columns`` exists only if it pays; this measures it. In scratch
database ``keyledger_bench_write``, bare keys (one account, one user per key) get the five
summary columns a first evaluation writes (owner, owner gap, compliance, open codes,
evaluated at), every key, once with each method, in alternating order, each inside a
transaction that is rolled back so every run writes the same rows. Queries are counted,
wall time is the median of the runs. Writes a Markdown fragment to --out.

    .venv/bin/python -m bench.bulk_write --out var/bench-bulk-write.md [--quick]
"""

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scale_data import setup_scratch
from bench.section import section_parser

DB = "keyledger_bench_write"
# bulk_update costs grow with batch size times rows (a CASE per row and column): at
# 100,000 keys it took 11 to 24 minutes a run here, so the full size is 20,000 keys.
FULL = {"keys": 20_000, "runs": 2}
QUICK = {"keys": 5000, "runs": 2}


def _fill(n_keys: int) -> None:
    """One account, ``n_keys`` users with one key each, two people to own them."""
    from accounts.models import Person
    from governance.models import AccessKey, AwsAccount, IamUser

    now = datetime.now(UTC)
    account = AwsAccount.objects.create(account_id="210987654321", name="bench")
    Person.objects.bulk_create([Person(email=f"owner{n}@bench.example", name=f"Owner {n}")
                                for n in range(2)])
    users = IamUser.objects.bulk_create(
        [IamUser(account=account, user_id=f"AIDA{n:016d}", name=f"svc-{n}",
                 arn=f"arn:aws:iam::210987654321:user/svc-{n}") for n in range(n_keys)],
        batch_size=5000)
    AccessKey.objects.bulk_create(
        [AccessKey(account=account, user=user, access_key_id=f"AKIA{n:016X}",
                   status=AccessKey.Status.ACTIVE, created_at=now - timedelta(days=n % 400))
         for n, user in enumerate(users)], batch_size=5000)


def _rows():
    """What a first evaluation writes for every key: owner, gap, compliance, open codes."""
    from accounts.models import Person
    from governance.models import AccessKey

    owners = list(Person.objects.values_list("pk", flat=True))
    now = datetime.now(UTC)
    rows = []
    for n, pk in enumerate(AccessKey.objects.order_by("pk").values_list("pk", flat=True)):
        owned = n % 3 != 0
        rows.append(AccessKey(
            id=pk, owner_id=owners[n % 2] if owned else None,
            owner_gap="" if owned else "tag owner names 'o''brien@example.com', who is not a "
                                       "known person",
            compliance="non_compliant" if n % 4 else "compliant",
            open_codes="NO_PURPOSE;ROTATION_OVERDUE" if n % 4 else "", evaluated_at=now))
    return rows


def _measure(method: str, rows) -> tuple[float, int]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from governance.bulk_write import BATCH, update_columns
    from governance.evaluation import KEY_SUMMARY_FIELDS
    from governance.models import AccessKey

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        if method == "values":
            update_columns(AccessKey, rows, KEY_SUMMARY_FIELDS)
        else:
            AccessKey.objects.bulk_update(rows, KEY_SUMMARY_FIELDS, batch_size=BATCH)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed, len(queries.captured_queries)


def _report(sizes, results, quick: bool) -> str:
    values, django = results["values"], results["bulk_update"]
    t_values, t_django = statistics.median(values["seconds"]), statistics.median(
        django["seconds"])
    return "\n".join([
        "## Writing evaluation results",
        "",
        f"The five summary columns of {sizes['keys']:,} keys, as a first evaluation writes "
        "them, batches of 1,000 rows, each run in a transaction rolled back afterwards; median "
        f"of {sizes['runs']} runs per method, alternating"
        + (" (quick sizes: not comparable)." if quick else "."),
        "",
        "| method | queries | seconds (median) | |",
        "|---|---|---|---|",
        f"| `governance.bulk_write.update_columns` (`UPDATE … FROM (VALUES …)`) "
        f"| {values['queries']} | {t_values:.2f} | 1× |",
        f"| Django `bulk_update` (`CASE WHEN` per row and column) | {django['queries']} "
        f"| {t_django:.2f} | {t_django / t_values:.1f}× |",
        "",
        "`update_columns` is kept while `bulk_update` is clearly slower here; it is tested "
        "on its own in `tests/governance/test_bulk_write.py`.",
    ]) + "\n"


def main() -> int:
    parser = section_parser(__doc__)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    setup_scratch(DB)
    _fill(sizes["keys"])
    rows = _rows()
    results: dict[str, dict[str, Any]] = {m: {"seconds": [], "queries": 0}
                                          for m in ("values", "bulk_update")}
    for run in range(sizes["runs"]):
        order = ("values", "bulk_update") if run % 2 == 0 else ("bulk_update", "values")
        for method in order:
            seconds, queries = _measure(method, rows)
            results[method]["seconds"].append(seconds)
            results[method]["queries"] = queries
            print(f"{method}: {seconds:.2f} s, {queries} queries", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_report(sizes, results, args.quick))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
