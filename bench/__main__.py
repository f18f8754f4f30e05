"""`make bench`: run every benchmark section and write docs/BENCHMARKS.md.

Each section is its own module run in a fresh process (``python -m bench.<name> --out F``)
because each one sets up Django against its own scratch database and, for some, its own
emulated AWS. A section writes a Markdown fragment that starts with a ``## `` heading; this
module adds the machine, the date and the commands, and joins the fragments in order.

    .venv/bin/python -m bench                  # every section, writes docs/BENCHMARKS.md
    .venv/bin/python -m bench --only sync_cost  # one section, report still written
    .venv/bin/python -m bench --quick           # smaller sizes, for trying the harness
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "BENCHMARKS.md"

# (module, what it measures). Order is the order of the report.
SECTIONS = [
    ("sync_cost", "AWS calls, queries and rows per account sync; workers; reference collector"),
    ("dashboard", "pages, export and evaluation at 1,000 accounts and 100,000 keys"),
    ("bulk_write", "evaluation writes: UPDATE ... FROM (VALUES ...) against bulk_update"),
    ("load", "50 concurrent sessions for 60 s against gunicorn and Postgres"),
    ("trail_read", "usage evidence: CloudTrail log files read per worker process, memory, "
                   "incremental cost"),
    ("live_changes", "live changes: event on the queue to key in the inventory, p50/p95 over "
                     "1,000 events; AWS calls per event"),
]


def _machine() -> str:
    """Describe the machine the figures come from, so they can be compared honestly."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    postgres = "unknown"
    try:
        import psycopg

        url = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
        with psycopg.connect(f"{url}/postgres", connect_timeout=3) as conn:
            # SHOW always answers one row; psycopg types fetchone() for any query.
            postgres = cast(tuple, conn.execute("SHOW server_version").fetchone())[0]
    except Exception as exc:  # noqa: BLE001 - the report says so instead of failing
        postgres = f"unreachable ({exc.__class__.__name__})"
    return (f"{os.cpu_count()} cores ({cpu}){memory}; Python {platform.python_version()}; "
            f"PostgreSQL {postgres}; {platform.system()} {platform.release()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated section modules: "
                        + ", ".join(name for name, _ in SECTIONS))
    parser.add_argument("--quick", action="store_true", help="small sizes; figures not comparable")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    wanted = [name for name, _ in SECTIONS]
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = set(wanted) - {name for name, _ in SECTIONS}
        if unknown:
            parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    fragments, failed = [], []
    with tempfile.TemporaryDirectory(prefix="keyledger-bench-") as scratch:
        for name in wanted:
            out = Path(scratch) / f"{name}.md"
            command = [sys.executable, "-m", f"bench.{name}", "--out", str(out)]
            if args.quick:
                command.append("--quick")
            print(f"== bench.{name}", flush=True)
            result = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
            if result.returncode != 0 or not out.exists():
                failed.append(name)
                fragments.append(f"## {name}\n\nThis section failed (exit {result.returncode}); "
                                 f"run `python -m bench.{name}` to see why.\n")
            else:
                fragments.append(out.read_text())

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python -m bench`); do not edit by hand.",
        "Figures are counts and ratios measured side by side in one run; wall times are what",
        "this machine measured and are never asserted in tests. The test suite guards the counts",
        "(AWS calls per account, queries per page) so they cannot silently regress.",
        "",
        f"- Run: {now}{' (quick sizes: not comparable)' if args.quick else ''}",
        f"- Machine: {_machine()}",
        "- AWS: moto, in-process or as a local server; no real AWS is contacted.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + "\n".join(f.rstrip() + "\n" for f in fragments))
    print(f"wrote {args.out}")
    if failed:
        print(f"failed sections: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
