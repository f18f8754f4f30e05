"""Locust users for ``bench.load``: the security team browsing the overview and inventory.

Each simulated user is its own signed-in session (a session key from ``BENCH_SESSIONS``,
a file with one key per line, created by ``bench.load``), so 50 users are 50 sessions, as
50 people in a browser would be. A response is a failure unless it is the page itself:
a 200 (never a redirect to the login page) with the page's own marker in the HTML.
"""

import itertools
import os
import random
import threading
from pathlib import Path

from locust import HttpUser, between, task

FINDINGS = ("ROTATION_OVERDUE", "NO_OWNER", "NO_PURPOSE", "UNUSED", "ADMIN_PRIVILEGE")
_sessions = itertools.cycle(Path(os.environ["BENCH_SESSIONS"]).read_text().split())
_lock = threading.Lock()


class SecurityAnalyst(HttpUser):
    """Opens the overview now and then; mostly pages, filters and sorts the inventory."""

    wait_time = between(1, 3)

    def on_start(self):
        with _lock:
            session = next(_sessions)
        self.client.cookies.set("sessionid", session)
        self.pages = int(os.environ.get("BENCH_INVENTORY_PAGES", "40"))

    def _get(self, url: str, name: str, marker: str):
        with self.client.get(url, name=name, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code == 0:  # no HTTP answer: say what the connection did
                response.failure(f"no response: {response.error!r}"[:200])
            elif response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif marker not in response.text:
                response.failure(f"not the page ({marker!r} missing)")

    @task(2)
    def overview(self):
        self._get("/", "overview", 'data-testid="tile-active"')

    @task(3)
    def inventory(self):
        self._get("/keys/", "inventory", 'data-testid="key-count"')

    @task(2)
    def inventory_filtered(self):
        self._get(f"/keys/?finding={random.choice(FINDINGS)}", "inventory, by finding",  # noqa: S311
                  'data-testid="key-count"')

    @task(2)
    def inventory_page(self):
        page = random.randint(2, self.pages)  # noqa: S311 - load shape, not security
        self._get(f"/keys/?page={page}&sort=-age", "inventory, page n by age",
                  'data-testid="key-count"')
