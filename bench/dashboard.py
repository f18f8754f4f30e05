"""Dashboard at scale: pages, CSV export and evaluation at 1,000 accounts and 100,000 keys.

Fills scratch database ``keyledger_bench_dash`` with ``bench.scale_data`` and requests each
page as the security persona through Django's test ``Client``, in this process: the figures
are the view, its queries and the template, without HTTP or a web server (``bench.load``
measures those). Production settings (DEBUG off). Writes a Markdown fragment to --out.

    .venv/bin/python -m bench.dashboard --out var/bench-dashboard.md [--quick] [--reuse]
"""

import contextlib
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from bench.scale_data import SECURITY_EMAIL, generate, setup_scratch
from bench.section import section_parser

DB = "keyledger_bench_dash"
FULL = {"accounts": 1000, "keys": 100_000, "repeat": 40}
QUICK = {"accounts": 20, "keys": 2000, "repeat": 10}
TARGET_MS = {"overview": 300, "inventory": 150, "key detail": 150}
EXPORT_TARGET_MB, EVALUATION_TARGET_S = 200, 30


def _peak_rss_reset() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _pages():
    """(label, target group, URL) of every page measured, with realistic parameters."""
    from django.urls import reverse

    from governance.models import AccessKey, ExceptionRequest

    inventory = reverse("inventory")
    detail_key = (ExceptionRequest.objects.filter(status="approved").order_by("key_id")
                  .values_list("key_id", flat=True).first()
                  or AccessKey.objects.order_by("pk").values_list("pk", flat=True).first())
    middle = AccessKey.objects.filter(access_key_id__isnull=False).order_by("pk")
    searched = middle[middle.count() // 2].access_key_id
    return [
        ("overview", "overview", reverse("overview")),
        ("inventory, unfiltered", "inventory", inventory),
        ("inventory, finding=ROTATION_OVERDUE", "inventory",
         f"{inventory}?finding=ROTATION_OVERDUE"),
        ("inventory, search by key id", "inventory", f"{inventory}?q={searched.lower()}"),
        ("inventory, sorted by age (oldest first)", "inventory", f"{inventory}?sort=-age"),
        ("inventory, page 500", "inventory", f"{inventory}?page=500"),
        ("key detail", "key detail", reverse("key-detail", args=[detail_key])),
        ("AWS accounts", None, reverse("aws-accounts")),
    ]


def _measure_pages(client, repeat: int):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    rows = []
    for label, group, url in _pages():
        reset_queries()  # each request starts by clearing the log the context reads
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        count = len(queries.captured_queries)  # read now: the next request clears the log
        assert response.status_code == 200, (url, response.status_code)
        client.get(url)  # warm
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        rows.append({"label": label, "group": group, "queries": count,
                     "p50": statistics.median(samples), "p95": _percentile(samples, 95),
                     "bytes": len(response.content)})
    return rows


def _measure_export(client):
    """Stream the whole CSV twice: timed with peak RSS, then under tracemalloc."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    url = reverse("inventory-export")
    reset_queries()
    rss_before = _rss_mb("VmRSS")
    _peak_rss_reset()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        streamed = response.streaming
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    count = len(queries.captured_queries)  # read now: the next request clears the log
    rss_peak = _rss_mb("VmHWM")
    tracemalloc.start()
    for _chunk in client.get(url).streaming_content:
        pass
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": elapsed, "rows": lines - 1, "mb": size / 1e6, "streamed": streamed,
            "queries": count, "rss_before": rss_before,
            "rss_peak": rss_peak, "traced_peak": traced_peak / 1e6}


def _measure_evaluation():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from governance.evaluation import evaluate_keys

    started = time.perf_counter()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        result = evaluate_keys()
    return {"seconds": time.perf_counter() - started, "queries": len(queries.captured_queries),
            "keys": result.keys, "updated": result.updated, "opened": result.opened,
            "resolved": result.resolved}


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _report(sizes, stats, pages, export, evaluation, quick: bool) -> str:
    lines = [
        "## Dashboard at scale",
        "",
        f"{stats.accounts:,} accounts, {stats.keys:,} keys ({stats.users:,} IAM users, "
        f"{stats.people:,} people), {stats.findings_open:,} open and "
        f"{stats.findings_resolved:,} resolved findings, {stats.registrations:,} "
        f"registrations, {stats.exceptions:,} exceptions, {stats.snapshots:,} daily snapshot "
        f"rows (400 days), in scratch database `{DB}`, written by `bench.scale_data` "
        + (f"({', '.join(f'{k}: {v} s' for k, v in stats.seconds.items())})."
           if stats.seconds else "(reused from an earlier run: --reuse).")
        + (" Quick sizes: not comparable." if quick else ""),
        "",
        "Pages are requested as the security persona (who sees every key) with Django's test "
        "`Client` in the benchmark process: view, queries and template, no HTTP server "
        f"(`bench.load` measures that). Production settings (DEBUG off); {sizes['repeat']} "
        "timed requests per page after one warm-up; queries counted on the first request.",
        "",
        "| page | queries | p50 ms | p95 ms | target p95 | |",
        "|---|---|---|---|---|---|",
    ]
    for row in pages:
        target = TARGET_MS.get(row["group"])
        verdict = _verdict(row["p95"] < target) if target else ""
        lines.append(f"| {row['label']} | {row['queries']} | {row['p50']:.0f} "
                     f"| {row['p95']:.0f} | {f'< {target} ms' if target else '—'} "
                     f"| {verdict} |")
    lines += [
        "",
        "Query counts do not depend on the number of keys: `tests/views/test_query_counts.py` "
        "asserts the same count at 10 and 1,000 keys for every main page, the CSV export "
        "and the API.",
        "",
        "### CSV export",
        "",
        f"All {export['rows']:,} rows ({export['mb']:.1f} MB of CSV), "
        f"{'streamed' if export['streamed'] else '**not streamed**'}: "
        f"{export['seconds']:.1f} s, {export['queries']} queries. Peak RSS of the benchmark "
        f"process while exporting: {export['rss_peak']:.0f} MB (it held "
        f"{export['rss_before']:.0f} MB before, including the test client and the 100,000-key "
        f"evaluation's leftovers); peak Python heap traced by tracemalloc during a second "
        f"export: {export['traced_peak']:.1f} MB. Target: peak memory under "
        f"{EXPORT_TARGET_MB} MB: {_verdict(export['rss_peak'] < EXPORT_TARGET_MB)}.",
        "",
        "## Evaluation at scale",
        "",
        f"Re-evaluating all {evaluation['keys']:,} keys (`governance.evaluation.evaluate_keys`"
        f", one transaction): {evaluation['seconds']:.1f} s, {evaluation['queries']} queries "
        f"(a fixed number per chunk of 5,000 keys), {evaluation['updated']} rows rewritten, "
        f"{evaluation['opened']} findings opened, {evaluation['resolved']} resolved (ages "
        "moved on since the first evaluation). The first evaluation, which writes every "
        "finding and summary column, is the `first evaluation` step above. Target: under "
        f"{EVALUATION_TARGET_S} s: {_verdict(evaluation['seconds'] < EVALUATION_TARGET_S)}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = section_parser(__doc__)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the scratch database from the last run (skip generation)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    setup_scratch(DB, fresh=not args.reuse)
    from django.test import Client

    from accounts.models import Person
    from bench.scale_data import stats_of_database

    if args.reuse:
        stats = stats_of_database()
    else:
        stats = generate(accounts=sizes["accounts"], keys=sizes["keys"])
    print(f"generated {stats}", flush=True)
    client = Client()
    client.force_login(Person.objects.get(email=SECURITY_EMAIL))
    evaluation = _measure_evaluation()
    print(f"evaluation {evaluation}", flush=True)
    pages = _measure_pages(client, sizes["repeat"])
    for row in pages:
        print(row, flush=True)
    export = _measure_export(client)
    print(f"export {export}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_report(sizes, stats, pages, export, evaluation, args.quick))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
