"""Fixtures for the AWS boundary tests."""

import pytest

from governance.aws.collector import Collector

from .helpers import MemoryPolicyStore, reader_session


@pytest.fixture
def store():
    return MemoryPolicyStore()


@pytest.fixture
def collect(store):
    """collect(account_id or session) -> (snapshot, session, sleeps).

    ``sleeps`` (a list) records the back-off even when collection raises.
    """

    def run(target, sleeps: list[float] | None = None, **options):
        session = reader_session(target) if isinstance(target, str) else target
        sleeps = [] if sleeps is None else sleeps
        options.setdefault("poll_first_seconds", 0.5)
        options.setdefault("poll_max_seconds", 10.0)
        collector = Collector(session, store, sleep=sleeps.append, **options)
        return collector.collect(), session, sleeps

    return run
