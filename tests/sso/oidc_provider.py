"""A real OpenID provider for the sign-in tests: node's oidc-provider (tests/sso/provider),
a separate process on loopback, started once per test session (``make oidc-provider``
installs it; ``make test`` depends on that).

Its accounts live in a JSON file it re-reads at every sign-in, so a test changes a person's
groups (or asks for a forged audience) with ``provider.set_account(...)``.
"""

import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "keyledger"
CLIENT_SECRET = "keyledger-test-secret"


@dataclass
class OidcProvider:
    issuer: str
    accounts_file: Path
    process: subprocess.Popen

    def set_account(self, login: str, **claims) -> None:
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login] = claims
        self.accounts_file.write_text(json.dumps(accounts))

    def reset(self) -> None:
        self.accounts_file.write_text("{}")


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    """The provider, whose one client is Keyledger at the live server's address."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("The sign-in tests need node's oidc-provider: run `make oidc-provider`.")
    node = shutil.which("node")
    if node is None:
        pytest.fail("The sign-in tests need node: apt-get install -y nodejs")
    accounts = tmp_path_factory.mktemp("oidc") / "accounts.json"
    accounts.write_text("{}")
    env = {**os.environ, "PORT": "0", "ACCOUNTS_FILE": str(accounts),
           "REDIRECT_URI": f"{live_server.url}/oidc/callback/",
           "POST_LOGOUT_URI": f"{live_server.url}/login/", "NODE_NO_WARNINGS": "1"}
    process = subprocess.Popen([node, "provider.mjs"], cwd=PROVIDER_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    issuer = None
    for line in process.stdout:
        if line.startswith("READY "):
            issuer = line.split()[1]
            break
    if issuer is None:
        process.kill()
        pytest.fail("the test OpenID provider did not start")
    # Keep draining its output so a chatty provider never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    yield OidcProvider(issuer=issuer, accounts_file=accounts, process=process)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def oidc_settings(settings, oidc_provider):
    """Keyledger configured for the test provider, groups mapped to roles."""
    oidc_provider.reset()
    settings.KEYLEDGER_OIDC_ISSUER = oidc_provider.issuer
    settings.KEYLEDGER_OIDC_CLIENT_ID = CLIENT_ID
    settings.KEYLEDGER_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.KEYLEDGER_OIDC_SCOPES = ["openid", "email", "groups"]
    settings.KEYLEDGER_OIDC_SECURITY_GROUPS = ["kl-security"]
    settings.KEYLEDGER_OIDC_MANAGER_GROUPS = ["kl-managers"]
    settings.KEYLEDGER_OIDC_CREATE_PEOPLE = True
    settings.KEYLEDGER_OIDC_PROVIDER_NAME = "Test IdP"
    settings.KEYLEDGER_BREAK_GLASS = ["glass@example.com"]
    return settings
