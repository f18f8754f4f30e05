"""Fixtures shared by the governance tests (the pure policy tests included: no Django here)."""

import pytest

from governance import policy_input


@pytest.fixture
def policy_file_reads(monkeypatch) -> list[int]:
    """The sizes ``policy_input`` asks of every file it opens, in order.

    Proves the reader's bound: an oversized file is refused after reading one byte more than
    the limit, never read whole (the check_policy command and the reader's own tests share it).
    """
    sizes: list[int] = []
    real_open = open

    def recording_open(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        read = handle.read
        handle.read = lambda size=-1: sizes.append(size) or read(size)
        return handle

    monkeypatch.setattr(policy_input, "open", recording_open, raising=False)
    return sizes
