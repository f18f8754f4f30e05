"""Policy documents in every shape AWS (or botocore, or moto) hands them over."""

import json
from urllib.parse import quote

import pytest

from governance.aws.documents import (
    MAX_DOCUMENT_CHARS,
    canonical_json,
    decode_document,
    document_digest,
)
from governance.aws.errors import CollectionError

DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                   "Resource": "arn:aws:s3:::bucket/some path/*",
                   "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}}],
}
# What real IAM returns in GetAccountAuthorizationDetails / GetPolicyVersion (RFC 3986 quoting
# of pretty-printed JSON: newlines and spaces are %0A / %20).
URL_ENCODED = quote(json.dumps(DOCUMENT, indent=2), safe="")


def test_url_encoded_sample_is_what_aws_sends():
    assert URL_ENCODED.startswith("%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22")


@pytest.mark.parametrize("raw", [DOCUMENT, json.dumps(DOCUMENT), json.dumps(DOCUMENT, indent=4),
                                 URL_ENCODED])
def test_every_shape_decodes_to_the_same_document(raw):
    assert decode_document(raw, where="alice inline") == DOCUMENT


def test_percent_in_a_plain_json_document_is_not_unquoted():
    document = {"Statement": [{"Resource": "arn:aws:s3:::b/100%25/*"}]}
    assert decode_document(json.dumps(document), where="x") == document
    assert decode_document(quote(json.dumps(document), safe=""), where="x") == document


@pytest.mark.parametrize(("raw", "problem"), [
    ("not a policy", "not JSON"),
    ("%7B%22Version%22%3A", "not JSON"),  # truncated URL-encoded document
    ("{'Version': '2012-10-17'}", "not JSON"),
    ("", "not JSON"),
    ("[" * 60_000 + "]" * 60_000, "not JSON"),  # deeper than Python's parser goes
    ("null", "not a JSON object"),
    ("42", "not a JSON object"),
    ('"{}"', "not a JSON object"),
    ("%5B%5D", "not a JSON object"),  # URL-encoded []
    (None, "not text"),
    (42, "not text"),
    (b"{}", "not text"),
    ("{" + " " * MAX_DOCUMENT_CHARS + "}", "too long"),
])
def test_garbage_is_bad_data(raw, problem):
    with pytest.raises(CollectionError) as info:
        decode_document(raw, where="arn:aws:iam::111111111111:policy/P")
    assert info.value.kind == "bad_data"
    assert problem in info.value.message
    assert info.value.message.startswith("arn:aws:iam::111111111111:policy/P: ")


def test_equal_documents_have_equal_digests_whatever_the_key_order():
    reordered = {"Statement": [{"Condition": {"StringLike": {"s3:prefix": [
        "home/${aws:username}/*"]}}, "Resource": "arn:aws:s3:::bucket/some path/*",
        "Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow"}],
        "Version": "2012-10-17"}
    assert list(reordered) != list(DOCUMENT)
    assert document_digest(reordered) == document_digest(DOCUMENT)
    assert document_digest(decode_document(URL_ENCODED, where="x")) == document_digest(DOCUMENT)
    assert canonical_json(reordered) == canonical_json(DOCUMENT)
    assert len(document_digest(DOCUMENT)) == 64


def test_different_documents_have_different_digests():
    other = json.loads(json.dumps(DOCUMENT))
    other["Statement"][0]["Action"] = ["s3:PutObject", "s3:GetObject"]  # list order matters
    assert document_digest(other) != document_digest(DOCUMENT)
    assert document_digest({"a": "é"}) != document_digest({"a": "e"})
