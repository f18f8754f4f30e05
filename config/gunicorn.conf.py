"""Gunicorn settings for every way Keyledger is served: the image, compose and the load
benchmark (``bench.load``), so the benchmark measures what is deployed.

Command-line options override these (the benchmark binds to loopback on a free port).
"""

import os

bind = "0.0.0.0:8000"  # noqa: S104 - inside a container, behind the load balancer
# Threads, not only processes: pages wait on Postgres most of their time.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("KEYLEDGER_WEB_THREADS", "4"))
# Longer than a person's pause between pages: with gunicorn's default (2 s) the server
# closed idle connections just as the next request arrived on them (docs/BENCHMARKS.md).
keep_alive = 10
accesslog = "-"
