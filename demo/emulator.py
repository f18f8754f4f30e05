"""An emulated AWS (moto's threaded server) inside this process.

Running it in-process is what lets the demo, tests and benchmarks backdate keys through
moto's backend objects while Keyledger reaches it over HTTP exactly as it reaches AWS,
through ``AWS_ENDPOINT_URL``.
"""

import logging
import os
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class EmulatedAws:
    """A started moto server and the environment that points boto3 at it."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> "EmulatedAws":
        # werkzeug logs every request to stderr; the demo's own output is what matters.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.url, **FAKE_CREDENTIALS}

    def reset(self) -> None:
        """Wipe every account's state (moto's admin API)."""
        import urllib.request

        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (loopback only)


@contextmanager
def emulated_aws(port: int = 0):
    """Start moto, point this process's boto3 at it, and undo both afterwards."""
    emulator = EmulatedAws(port).start()
    saved = {name: os.environ.get(name) for name in emulator.environment()}
    saved["MOTO_ACCOUNT_ID"] = os.environ.pop("MOTO_ACCOUNT_ID", None)
    os.environ.update(emulator.environment())
    try:
        yield emulator
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        emulator.stop()
