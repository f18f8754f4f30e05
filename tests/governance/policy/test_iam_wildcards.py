"""IAM wildcard patterns: matching a name, overlapping another pattern, containing one."""

import pytest

from governance.iam_wildcards import (
    covers_all_actions,
    covers_all_resources,
    pattern_covers,
    patterns_overlap,
)


@pytest.mark.parametrize(("pattern", "every_action"), [
    ("*", True),
    ("*:*", True),
    ("**", True),
    ("**:*", True),
    (" * ", True),
    ("*:*:*", False),  # two colons: no action name has them
    ("*:", False),
    (":*", False),
    ("s3:*", False),
    ("*:Get*", False),
    ("", False),
])
def test_spellings_of_every_action(pattern, every_action):
    assert covers_all_actions(pattern) is every_action


@pytest.mark.parametrize(("pattern", "every_resource"), [
    ("*", True), ("**", True), (" * ", True), ("", False), ("arn:*", False), ("*/x", False),
])
def test_spellings_of_every_resource(pattern, every_resource):
    assert covers_all_resources(pattern) is every_resource


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ("s3:*", "s3:GetObject", True),
    ("s3:*", "es:*", False),
    ("es:ES*", "s3:*", False),
    ("es:ES*", "es:*", True),
    ("*:Get*", "s3:*", True),
    ("s3:Get*", "S3:GETOBJECT", True),  # case-insensitive
    ("s3:?etObject", "s3:GetObj*", True),
    ("s3:?", "s3:ab", False),
    ("elasticfilesystem:client*", "s3-object-lambda:*", False),
    ("*", "anything:At*All", True),
    ("a*b*c", "a*c", True),
    ("ab", "a", False),
])
def test_patterns_overlap_when_one_name_matches_both(a, b, overlap):
    assert patterns_overlap(a, b) is overlap
    assert patterns_overlap(b, a) is overlap


def test_resource_overlap_can_be_case_sensitive():
    assert not patterns_overlap("arn:aws:s3:::Reports/*", "arn:aws:s3:::reports/*",
                                ignore_case=False)
    assert patterns_overlap("arn:aws:s3:::Reports/*", "arn:aws:s3:::reports/*")


@pytest.mark.parametrize(("general", "specific", "covers"), [
    ("iam:*", "iam:*", True),
    ("IAM:*", "iam:*", True),
    ("i*", "iam:*", True),
    ("*", "iam:*", True),
    ("*:*", "iam:*", True),
    ("iam:*", "iam:Put*", True),
    ("iam:Put*", "iam:*", False),
    ("iam:Delete*", "iam:*", False),
    ("iam:?ut*", "iam:Put*", True),
    ("iam:?ut*", "iam:*", False),
    ("s3:*", "s3:GetObject", True),
    ("s3:GetObject", "s3:*", False),
    ("s3:Get?bject", "s3:Get?bject", True),
    ("s3:GetObject", "s3:Get?bject", False),  # ? stands for any character
    ("a*", "a", True),
    ("a", "a*", False),
    ("", "", True),
    ("*", "", True),
    ("", "*", False),
])
def test_pattern_covers_every_name_the_other_matches(general, specific, covers):
    assert pattern_covers(general, specific) is covers


def test_resource_containment_can_be_case_sensitive():
    assert not pattern_covers("arn:aws:s3:::B/*", "arn:aws:s3:::b/x", ignore_case=False)
    assert pattern_covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/x", ignore_case=False)
