"""Browser tests: real Chromium (Debian's, through Playwright's ``executable_path``) against
a live Django server on the demo organization, exactly what ``make demo`` serves.

Playwright's sync API runs an event loop in the test thread, so Django's async-safety guard
would refuse the ORM calls the tests make to check outcomes; the tests are synchronous, so
lifting the guard is safe here (and only here).
"""

import os
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from tests.conftest import audit_triggers_off, replace_next_flush
from tests.snapshots import AwsSnapshot, DatabaseSnapshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("KEYLEDGER_CHROMIUM", "/usr/bin/chromium")
# See ../shared/NOTES.md: without the background-networking flags Chromium floods the closed
# network with refused connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DEMO_PASSWORD = "Demo-only-Passw0rd!"
VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run; each test opens its own isolated contexts."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium "
                    "(or set KEYLEDGER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass(frozen=True)
class DemoSnapshot:
    flushed: DatabaseSnapshot  # the database as pytest-django's flush leaves it
    database: DatabaseSnapshot  # ... and after run_demo
    aws: AwsSnapshot  # moto after run_demo


@pytest.fixture(scope="session")
def _demo_snapshot(django_db_setup, django_db_blocker, _moto_server):
    """``run_demo`` once per session, on a flushed database and a wiped moto, as each test
    once ran it; the database before and after, and moto after, kept in memory.

    Runs before the first ``demo`` test's own fixtures and leaves the database flushed and
    moto wiped, as the previous transactional test would have.
    """
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as env:
        env.delenv("MOTO_ACCOUNT_ID", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        for name, value in _moto_server.environment().items():
            env.setenv(name, value)
        with audit_triggers_off(connection):
            call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
        flushed = DatabaseSnapshot.take(connection)
        _moto_server.reset()
        call_command("run_demo", "--no-serve", "--history-days", "14",
                     stdout=open(os.devnull, "w"))  # noqa: SIM115
        snapshot = DemoSnapshot(flushed, DatabaseSnapshot.take(connection), AwsSnapshot())
        flushed.restore(connection)
        _moto_server.reset()
    return snapshot


@pytest.fixture
def demo(_demo_snapshot, transactional_db, moto_server):
    """The demo organization seeded into moto, discovered and synced, as ``make demo`` does;
    two weeks of trend history rather than 120 days (a line still, at a tenth of the cost).

    Seeded once per session and restored for each test (tests/snapshots.py): the database
    rows and sequences and moto's state are exactly what ``run_demo`` left, whatever an
    earlier test changed. Afterwards ``moto_server`` wipes moto, and the flushed database
    is restored in place of pytest-django's flush (the same rows, a tenth of the time).
    """
    _demo_snapshot.database.restore(connection)
    _demo_snapshot.aws.restore()
    replace_next_flush(partial(_demo_snapshot.flushed.restore, connection))


class Session:
    """One signed-in person in their own browser context, collecting what the page reports:
    script errors, Content-Security-Policy violations and any dialog (an injected script's
    ``alert`` would open one)."""

    def __init__(self, browser, base_url: str, email: str, *, javascript: bool = True):
        self.base_url = base_url
        self.context = browser.new_context(viewport=VIEWPORT, java_script_enabled=javascript,
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)
        self.goto(reverse("login"))
        self.page.fill("input[name=username]", email)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base_url}/")

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path: str):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        return response

    def shoot(self, name: str, *, full_page: bool = True) -> Path:
        """Save a screenshot as a test artifact (test-artifacts/ is not committed)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 10_000, f"{name}: blank screenshot?"
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def sign_in(browser, live_server):
    """``sign_in(email)`` gives a signed-in :class:`Session`; all are closed after the test."""
    sessions: list[Session] = []

    def open_session(email: str, **options) -> Session:
        session = Session(browser, live_server.url, email, **options)
        sessions.append(session)
        return session

    yield open_session
    for session in sessions:
        session.close()
