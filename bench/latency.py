"""A fixed delay on every AWS request, so emulated calls cost what real ones roughly do.

moto answers in about a millisecond; AWS IAM takes tens. Without a delay, a benchmark would
rank collectors by CPU spent in moto rather than by the number of round trips, which is what
dominates against AWS. The delay is a botocore ``before-send`` handler installed through
``governance.aws.session.client_hooks`` on every client Keyledger (or the reference
collector) creates, so it sits on the real request path and sleeps without holding the GIL.
"""

import contextlib
import time
from collections.abc import Iterator

from governance.aws.session import client_hooks


@contextlib.contextmanager
def aws_latency(seconds: float) -> Iterator[None]:
    """Every request of every client created inside the block waits ``seconds`` first."""

    def wait(**_kwargs) -> None:
        time.sleep(seconds)  # returning None lets the request go on (to moto)

    def install(_account_id: str, client) -> None:
        client.meta.events.register_first("before-send", wait)

    with client_hooks(install):
        yield
