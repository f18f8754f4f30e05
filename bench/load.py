"""Load: concurrent security-team sessions against gunicorn and Postgres on this machine.

Fills scratch database ``keyledger_bench_load`` with ``bench.scale_data`` (20,000 keys),
starts gunicorn with the deployed ``config/gunicorn.conf.py`` on 127.0.0.1 with production
settings (DEBUG off; HTTPS redirect and secure-only cookies off, as there is no TLS here),
creates one signed-in session per simulated user, and runs locust headless
(``bench/locustfile.py``) against the overview and the inventory. Writes a Markdown
fragment to --out.

    .venv/bin/python -m bench.load --out var/bench-load.md [--quick]
"""

import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import cast

from bench.scale_data import SECURITY_EMAIL, generate, setup_scratch
from bench.section import section_parser

DB = "keyledger_bench_load"
ROOT = Path(__file__).resolve().parent.parent
FULL = {"accounts": 200, "keys": 20_000, "users": 50, "rate": 10, "seconds": 60}
QUICK = {"accounts": 20, "keys": 2000, "users": 10, "rate": 10, "seconds": 10}
# The deployed settings (workers, threads, keep-alive); only the address is this run's.
GUNICORN = ["-c", "config/gunicorn.conf.py"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sessions(count: int, path: Path) -> None:
    """``count`` signed-in sessions of the security persona, one key per line.

    Made directly in the session store rather than by posting the login form: each sign-in
    hashes the password (PBKDF2, about half a second of CPU here), and 50 of them would
    measure the password hasher during the ramp-up instead of the pages.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Person

    person = Person.objects.get(email=SECURITY_EMAIL)
    keys = []
    for _ in range(count):
        session = SessionStore()
        session[SESSION_KEY] = str(person.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = person.get_session_auth_hash()
        session.create()
        keys.append(cast(str, session.session_key))  # create() has given it one
    path.write_text("\n".join(keys) + "\n")


def _start_gunicorn(environment: dict, port: int, log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", *GUNICORN,
               "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **environment},  # noqa: S603
                              stdout=log.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2):  # noqa: S310
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer /health/ within 60 s")


def _stop(server: subprocess.Popen) -> None:
    """Stop the gunicorn this benchmark started (its own process group) and wait for it."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _run_locust(sizes: dict, port: int, sessions: Path, prefix: Path, pages: int) -> None:
    command = [str(Path(sys.executable).with_name("locust")), "-f",
               str(ROOT / "bench" / "locustfile.py"), "--headless",
               "-u", str(sizes["users"]), "-r", str(sizes["rate"]), "-t", f"{sizes['seconds']}s",
               "--csv", str(prefix), "--host", f"http://127.0.0.1:{port}", "--only-summary",
               "--loglevel", "WARNING"]
    environment = {**os.environ, "BENCH_SESSIONS": str(sessions),
                   "BENCH_INVENTORY_PAGES": str(pages)}
    subprocess.run(command, cwd=ROOT, env=environment, check=False)  # noqa: S603


def _report(sizes: dict, stats, rows: list[dict], quick: bool) -> str:
    total = next(r for r in rows if r["Name"] == "Aggregated")
    failures = int(total["Failure Count"])
    lines = [
        "## Load: concurrent sessions",
        "",
        f"{sizes['users']} simulated security-team users, each with its own session, "
        f"ramped up at {sizes['rate']}/s and run for {sizes['seconds']} s with 1 to 3 s of "
        "think time between pages, against `gunicorn config.wsgi "
        f"{' '.join(GUNICORN)}` (the deployed settings) on 127.0.0.1 and Postgres on "
        "loopback (the load generator "
        "shares the machine's cores). Production settings, DEBUG off. Data: "
        f"{stats.accounts:,} accounts, {stats.keys:,} keys, {stats.findings_open:,} open "
        f"findings, from `bench.scale_data` in scratch database `{DB}`. "
        "Driven by locust headless (`bench/locustfile.py`); a request fails unless it is a "
        "200 carrying the page (never the login page)."
        + (" Quick sizes: not comparable." if quick else ""),
        "",
        "| page | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = "**all pages**" if row["Name"] == "Aggregated" else row["Name"]
        lines.append(f"| {name} | {row['Request Count']} | {row['Failure Count']} "
                     f"| {float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} "
                     f"| {row['99%']} | {float(row['Max Response Time']):.0f} |")
    verdict = "none, as required" if failures == 0 else "**must be 0**"
    lines += ["", f"Failures: {failures} ({verdict})."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = section_parser(__doc__)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    environment = setup_scratch(DB)
    stats = generate(accounts=sizes["accounts"], keys=sizes["keys"])
    print(f"generated {stats}", flush=True)
    from django.db import connections

    with tempfile.TemporaryDirectory(prefix="keyledger-load-") as scratch_name:
        scratch = Path(scratch_name)
        _sessions(sizes["users"], scratch / "sessions")
        connections.close_all()
        port = _free_port()
        server = _start_gunicorn(environment, port, scratch / "gunicorn.log")
        try:
            _run_locust(sizes, port, scratch / "sessions", scratch / "locust",
                        pages=max(2, stats.keys // 50 // 2))
        finally:
            _stop(server)
        stats_file = scratch / "locust_stats.csv"
        if not stats_file.exists():
            print((scratch / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
            return 1
        with stats_file.open() as handle:
            rows = list(csv.DictReader(handle))
        errors = scratch / "gunicorn.log"
        print(errors.read_text()[-2000:], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_report(sizes, stats, rows, args.quick))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
