"""IAM's wildcard algebra beyond test_iam_wildcards.py's table: agreement with plain matching,
the cases a search that forgets a branch gets wrong, and patterns of any length in time."""

import signal
from contextlib import contextmanager

import pytest

from governance.iam_wildcards import action_matches, pattern_covers, patterns_overlap

PATTERNS = ["*", "**", "s3:*", "s3:Get*", "*Object", "s3:?etObject", "s3:G*t*", "*:*",
            "iam:*User*", "s3:GetObject", "", "?", "*?*", "s3:*Object*", "S3:G?T*"]
NAMES = ["s3:GetObject", "s3:PutObject", "iam:CreateUser", "iam:User", "", "a", "s3:",
         "S3:GETOBJECT", "s3:GetObjectAcl"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_algebra_agrees_with_matching_on_plain_names(pattern):
    """A plain name is a pattern that matches itself: covering it or overlapping it is
    matching it."""
    for name in NAMES:
        matches = action_matches(pattern, name)
        assert pattern_covers(pattern, name) is matches, name
        assert patterns_overlap(pattern, name) is matches, name
        assert patterns_overlap(name, pattern) is matches, name


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ("*Object", "Object*Object", True),  # ObjectObject: the first * must take a whole word
    ("*Tags", "s3:Tags*Tags", True),
    ("*:Get*", "ec2:*", True),
    ("*Object", "s3:*Acl", False),
    ("s3:Get*Acl", "s3:*ObjectAcl", True),
])
def test_overlap_follows_every_way_a_star_can_stretch(a, b, overlap):
    assert patterns_overlap(a, b) is overlap
    assert patterns_overlap(b, a) is overlap


@pytest.mark.parametrize(("general", "specific", "covers"), [
    ("s3:?", "s3:*", False),  # ? is one character; * in specific is any number of them
    ("s3:Get?", "s3:Get*", False),
    ("s3:?*", "s3:*", False),  # s3: itself is not covered
    ("s3:*", "s3:?*", True),
    ("s3:*Object", "s3:Get*Object", True),
    ("s3:*Object", "s3:Get*", False),
])
def test_a_star_in_the_specific_pattern_is_covered_only_by_a_star(general, specific, covers):
    assert pattern_covers(general, specific) is covers


@contextmanager
def within(seconds: float):
    """Fail the block if it runs longer than ``seconds`` (wall clock)."""
    def expire(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_star_heavy_patterns_are_judged_in_time():
    """Each pair of positions is visited once: without that, these take hours."""
    with within(2):
        assert not patterns_overlap("*a" * 12 + "b", "a*" * 12 + "c")
        assert not pattern_covers("*a" * 20 + "b", "a" * 40)
        assert pattern_covers("*a" * 20, "a" * 40)


def test_patterns_thousands_of_characters_long_are_judged_in_time():
    long = "arn:aws:s3:::" + "ab" * 3000
    with within(2):
        assert pattern_covers(long[:-1] + "*", long)
        assert not pattern_covers(long, long[:-1] + "*")
        assert patterns_overlap(long + "*", "*" + long)
        assert not patterns_overlap("?" + long + "x", "*" + long + "y")
