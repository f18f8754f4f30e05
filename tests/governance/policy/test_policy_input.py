"""check_policy's input reader, called directly: what it accepts, and every refusal whole.

``tests/governance/test_check_policy.py`` drives the same reader through the command; here
each refusal is asserted as the field path and the sentence a person reads, without Django.
"""

import json
from urllib.parse import quote

import pytest

from governance.iam_policy import PermissionVerdict, PolicySource
from governance.policy_input import (
    PolicyInputError,
    policies_from_file,
    policies_from_request,
    read_policy_file,
    verdict_fields,
)

ADMIN = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def item(name="p", kind="user-inline", document=None) -> dict:
    return {"name": name, "kind": kind, "document": ADMIN if document is None else document}


def from_file(content, name="policy.json"):
    raw = content if isinstance(content, bytes) else (
        content if isinstance(content, str) else json.dumps(content)).encode()
    return policies_from_file(raw, name=name)


def refusal(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(PolicyInputError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert str(error) == (f"{error.where}: {error.problem}" if error.where else error.problem)
    return error.where, error.problem


DROP = object()  # a change that removes the element


def statement_refusal(**changes) -> tuple[str, str]:
    """The refusal of a one-statement document whose statement has ``changes`` applied."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **changes}
    statement = {k: v for k, v in statement.items() if v is not DROP}
    return refusal(policies_from_request,
                   {"policies": [item(document={"Statement": [statement]})]})


# -- what is accepted ------------------------------------------------------------------------

def test_a_list_of_policies_is_read_in_order():
    read = from_file([item("a", "group-attached"), item("b", "user-attached")])
    assert read.policies == [PolicySource("group-attached", "a", ADMIN),
                             PolicySource("user-attached", "b", ADMIN)]
    assert read.warnings == []


def test_the_api_body_is_accepted_as_a_file_too():
    read = from_file({"policies": [item("a", "group-inline")]})
    assert read.policies == [PolicySource("group-inline", "a", ADMIN)]


def test_a_single_document_is_a_user_inline_policy_named_after_the_file():
    assert from_file(ADMIN, name="deploy.json").policies == [
        PolicySource("user-inline", "deploy.json", ADMIN)]


def test_a_utf8_byte_order_mark_is_allowed():
    assert from_file(b"\xef\xbb\xbf" + json.dumps([item()]).encode()).policies == [
        PolicySource("user-inline", "p", ADMIN)]


@pytest.mark.parametrize("spelling", [json.dumps, lambda d: quote(json.dumps(d), safe="")])
def test_a_document_may_be_json_text_or_url_encoded_json(spelling):
    assert policies_from_request({"policies": [item(document=spelling(ADMIN))]}).policies == [
        PolicySource("user-inline", "p", ADMIN)]


@pytest.mark.parametrize("document", [
    {"Version": "2008-10-17", "Statement": ADMIN["Statement"]},
    {"Statement": ADMIN["Statement"][0]},  # one statement, not a list
    {"Id": "x", "Statement": []},
    {"Statement": [{"Sid": "Read", "Effect": "Deny", "NotAction": ["s3:*"],
                    "NotResource": "arn:aws:s3:::x",
                    "Condition": {"Bool": {"aws:SecureTransport": False},
                                  "NumericLessThan": {"s3:max-keys": [10, 2.5]},
                                  "IpAddress": {"aws:SourceIp": []}}}]},
])
def test_documents_iam_accepts_are_accepted_as_they_are(document):
    assert policies_from_request({"policies": [item(document=document)]}).policies[0] \
        .document == document


def test_a_statement_without_effect_is_kept_with_a_warning():
    document = {"Statement": [{"Action": "*", "Resource": "*"}]}
    read = from_file([item(document=document)])
    assert read.policies == [PolicySource("user-inline", "p", document)]
    assert read.warnings == ['policies[0].document.Statement[0]: has no "Effect", which IAM '
                             "requires; judged as allowing and denying nothing"]


NO_EFFECT = {"Statement": [{"Action": "*", "Resource": "*"}]}
NO_EFFECT_WARNING = ('has no "Effect", which IAM requires; judged as allowing and denying '
                     "nothing")


def test_a_single_document_without_effect_is_kept_with_a_warning():
    read = from_file(NO_EFFECT)
    assert read.policies == [PolicySource("user-inline", "policy.json", NO_EFFECT)]
    assert read.warnings == [f"Statement[0]: {NO_EFFECT_WARNING}"]


def test_an_api_body_without_effect_is_kept_with_a_warning():
    read = policies_from_request({"policies": [item(), item("q", document=NO_EFFECT)]})
    assert [p.name for p in read.policies] == ["p", "q"]
    assert read.warnings == [f"policies[1].document.Statement[0]: {NO_EFFECT_WARNING}"]


def test_a_lone_statement_object_without_effect_is_warned_about_too():
    document = {"Statement": {"Action": "*", "Resource": "*"}}
    assert from_file([item(document=document)]).warnings == [
        f"policies[0].document.Statement: {NO_EFFECT_WARNING}"]


def test_a_policy_name_may_be_128_characters():
    assert from_file([item("n" * 128)]).policies[0].name == "n" * 128


def test_the_file_is_read_from_disk_up_to_the_limit(tmp_path):
    body = json.dumps([item()]).encode()
    path = tmp_path / "p.json"
    path.write_bytes(body)
    assert read_policy_file(str(path), limit=len(body)).policies == [
        PolicySource("user-inline", "p", ADMIN)]
    assert refusal(read_policy_file, str(path), limit=len(body) - 1) == (
        "", f"is larger than {len(body) - 1:,} bytes; a FILE holds the policies of one user, "
            "and IAM's largest policy is 10,240 characters")


def test_an_oversized_file_is_refused_after_reading_one_byte_more_than_the_limit(
        tmp_path, policy_file_reads):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 1000)
    assert refusal(read_policy_file, str(path), limit=100)[1].startswith(
        "is larger than 100 bytes")
    assert policy_file_reads == [101]


def test_a_document_on_disk_is_named_after_the_files_base_name(tmp_path):
    (tmp_path / "deploy.json").write_text(json.dumps(ADMIN))
    assert read_policy_file(str(tmp_path / "deploy.json")).policies[0].name == "deploy.json"


def test_files_that_cannot_be_read_say_why(tmp_path):
    assert refusal(read_policy_file, str(tmp_path / "missing.json")) == (
        "", "cannot be read: No such file or directory")
    assert refusal(read_policy_file, str(tmp_path)) == ("", "cannot be read: Is a directory")


def test_the_default_limit_is_a_mebibyte(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 1_048_577)
    assert refusal(read_policy_file, str(path)) == (
        "", "is larger than 1,048,576 bytes; a FILE holds the policies of one user, and IAM's "
            "largest policy is 10,240 characters")


def test_the_verdict_is_answered_as_fields():
    verdict = PermissionVerdict(True, "admin why", False, "source why", True, "escalation why")
    fields = verdict_fields(verdict)
    assert fields == {"admin": True, "escalation": True, "source_restricted": False,
                      "reasons": {"admin": "admin why", "escalation": "escalation why",
                                  "source": "source why"}}
    assert list(fields) == ["admin", "escalation", "source_restricted", "reasons"]


# -- refusals of the file or body as a whole -------------------------------------------------

@pytest.mark.parametrize(("content", "where", "problem"), [
    (b'[{"name": "caf\xe9"}]', "", "is not UTF-8 text (invalid continuation byte at byte 14)"),
    ("", "", "the file is not JSON: Expecting value at line 1 column 1"),
    ('[\n  {"name": }]', "", "the file is not JSON: Expecting value at line 2 column 12"),
    ("[" * 100_000, "", "the file is nested too deeply to be a policy"),
    ("42", "", 'must be a JSON list of policies ({"name", "kind", "document"}) or a single '
               'policy document (an object with "Statement"), got a number'),
    ('"Allow"', "", 'must be a JSON list of policies ({"name", "kind", "document"}) or a '
                    'single policy document (an object with "Statement"), got the string '
                    '"Allow"'),
    ({"Version": "2012-10-17"}, "", 'has no "Statement"'),
    ({"policies": [], "Statement": []}, "", 'unknown element "policies"; expected Version, Id, '
                                           "Statement"),
    ({"policies": {}}, "policies", "must be a list of policies, got an object"),
])
def test_files_refused_whole(content, where, problem):
    assert refusal(from_file, content) == (where, problem)


@pytest.mark.parametrize(("body", "where", "problem"), [
    ([item()], "", 'the body must be a JSON object {"policies": [...]}, got a list'),
    (None, "", 'the body must be a JSON object {"policies": [...]}, got null'),
    ((), "", 'the body must be a JSON object {"policies": [...]}, got tuple'),
    ({}, "policies", "this field is required"),
    (ADMIN, "policies", 'this field is required (to check a single document, send '
                        '{"policies": [{"name": ..., "kind": "user-inline", "document": '
                        "...}]})"),
    ({"policies": [], "Policies": []}, "", 'unknown element "Policies" (did you mean '
                                           '"policies"? names are case-sensitive); expected '
                                           "policies"),
    ({"policies": [], "extra": 1}, "", 'unknown element "extra"; expected policies'),
    ({"policies": None}, "policies", "must be a list of policies, got null"),
])
def test_bodies_refused_whole(body, where, problem):
    assert refusal(policies_from_request, body) == (where, problem)


# -- refusals of one policy ------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "where", "problem"), [
    ("AdministratorAccess", "policies[1]", 'must be an object {"name", "kind", "document"}, '
                                           'got the string "AdministratorAccess"'),
    ({"kind": "user-inline"}, "policies[1].name", "this field is required"),
    ({"name": "p", "document": ADMIN}, "policies[1].kind", "this field is required"),
    ({"name": "p", "kind": "user-inline"}, "policies[1].document", "this field is required"),
    ({**item(), "Name": "p"}, "policies[1]", 'unknown element "Name" (did you mean "name"? '
                                             "names are case-sensitive); expected name, kind, "
                                             "document"),
    (item(name=7), "policies[1].name", "must be a string, got a number"),
    (item(name=True), "policies[1].name", "must be a string, got a boolean"),
    (item(name=" \t"), "policies[1].name", "must not be empty"),
    (item(name="n" * 129), "policies[1].name", "must be at most 128 characters, got 129"),
    (item(name="n" * 1000), "policies[1].name", "must be at most 128 characters, got 1,000"),
    (item(name="a\x1b[31m"), "policies[1].name", "must not contain control characters"),
    (item(name="a\x7f"), "policies[1].name", "must not contain control characters"),
    (item(name="a\x9f"), "policies[1].name", "must not contain control characters"),
    (item(kind="role-inline"), "policies[1].kind", "must be one of user-inline, user-attached, "
                                                   'group-inline, group-attached; got '
                                                   '"role-inline"'),
    (item(kind=None), "policies[1].kind", "must be one of user-inline, user-attached, "
                                          "group-inline, group-attached; got null"),
    (item(kind=["user-inline"]), "policies[1].kind", "must be one of user-inline, "
                                                     "user-attached, group-inline, "
                                                     "group-attached; got a list"),
    # from a Python caller, a value JSON has no type for is still shown
    (item(kind=b"user-inline"), "policies[1].kind", "must be one of user-inline, "
                                                    "user-attached, group-inline, "
                                                    "group-attached; got \"b'user-inline'\""),
])
def test_policies_refused_whole(policy, where, problem):
    assert refusal(policies_from_request, {"policies": [item(), policy]}) == (where, problem)


def test_a_name_with_a_non_breaking_space_is_not_a_control_character():
    assert from_file([item("a\xa0b")]).policies[0].name == "a\xa0b"


# -- refusals of one document ----------------------------------------------------------------

D = "policies[0].document"


@pytest.mark.parametrize(("document", "where", "problem"), [
    ([ADMIN], D, "must be a policy document (a JSON object, or a string holding one), got a "
                 "list"),
    (7, D, "must be a policy document (a JSON object, or a string holding one), got a number"),
    ("[1]", D, "must be a policy document (a JSON object, or a string holding one), got a "
               "list"),
    ("Allow everything", D, "the document text is not JSON: Expecting value at line 1 column 1"),
    ("%7B%22Statement%22", D, "the URL-decoded document text is not JSON: Expecting ':' "
                              "delimiter at line 1 column 13"),
    ("[" * 100_000, D, "the document text is nested too deeply to be a policy"),
    ({"Version": "2012-10-17"}, D, 'has no "Statement"'),
    ({"statement": []}, D, 'unknown element "statement" (did you mean "Statement"? names are '
                           "case-sensitive); expected Version, Id, Statement"),
    ({**ADMIN, "Version": "2024-01-01"}, f"{D}.Version",
     'must be "2012-10-17" (or the older "2008-10-17"), got "2024-01-01"'),
    ({**ADMIN, "Version": 2012}, f"{D}.Version",
     'must be "2012-10-17" (or the older "2008-10-17"), got 2012'),
    ({**ADMIN, "Id": 7}, f"{D}.Id", "must be a string, got a number"),
    ({"Statement": "Allow *"}, f"{D}.Statement",
     'must be an object or a list of objects, got the string "Allow *"'),
    ({"Statement": None}, f"{D}.Statement", "must be an object or a list of objects, got null"),
    ({"Statement": [ADMIN["Statement"][0], []]}, f"{D}.Statement[1]",
     "must be an object, got a list"),
    ({"Statement": {"Effect": "Permit", "Action": "*", "Resource": "*"}}, f"{D}.Statement",
     'Effect must be "Allow" or "Deny", got "Permit"'),
])
def test_documents_refused_whole(document, where, problem):
    assert refusal(policies_from_request, {"policies": [item(document=document)]}) == (
        where, problem)


def test_a_bad_single_document_in_a_file_names_the_field_from_the_document():
    document = {"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}
    assert refusal(from_file, document) == (
        "Statement[0]", 'Effect must be "Allow" or "Deny", got "Permit"')


S0 = "policies[0].document.Statement[0]"


@pytest.mark.parametrize(("changes", "where", "problem"), [
    (dict(Principal="*"), S0, "has a Principal: a user's policies name no principal (that "
                              "belongs in a resource or trust policy)"),
    (dict(NotPrincipal={"AWS": "*"}), S0, "has a Principal: a user's policies name no "
                                          "principal (that belongs in a resource or trust "
                                          "policy)"),
    (dict(Actions="s3:*"), S0, 'unknown element "Actions"; expected Sid, Effect, Action, '
                               "NotAction, Resource, NotResource, Condition"),
    (dict(effect="Allow"), S0, 'unknown element "effect" (did you mean "Effect"? names are '
                               "case-sensitive); expected Sid, Effect, Action, NotAction, "
                               "Resource, NotResource, Condition"),
    (dict(Sid=7), f"{S0}.Sid", "must be a string, got a number"),
    (dict(Effect="allow"), S0, 'Effect must be "Allow" or "Deny", got "allow"'),
    (dict(Effect=None), S0, 'Effect must be "Allow" or "Deny", got null'),
    (dict(Action=DROP), S0, 'needs "Action" or "NotAction"'),
    (dict(NotAction="iam:*"), S0, 'has both "Action" and "NotAction"; use one'),
    (dict(Resource=DROP), S0, 'needs "Resource" or "NotResource"'),
    (dict(NotResource="arn:aws:s3:::x"), S0, 'has both "Resource" and "NotResource"; use one'),
    (dict(Action=5), f"{S0}.Action", "must be a string or a list of strings, got a number"),
    (dict(Action=DROP, NotAction={"x": 1}), f"{S0}.NotAction",
     "must be a string or a list of strings, got an object"),
    (dict(Action=["s3:GetObject", None]), f"{S0}.Action[1]",
     "must be a string or a list of strings, got null"),
    (dict(Resource=""), f"{S0}.Resource", "must not be empty"),
    (dict(Resource=DROP, NotResource=["arn:x", " "]), f"{S0}.NotResource[1]",
     "must not be empty"),
    (dict(Condition=[{"IpAddress": {}}]), f"{S0}.Condition",
     'must be an object of operators, e.g. {"IpAddress": {"aws:SourceIp": '
     '"203.0.113.0/24"}}, got a list'),
    (dict(Condition={"IpAddress": "198.51.100.0/24"}), f"{S0}.Condition.IpAddress",
     'must be an object of condition keys, got the string "198.51.100.0/24"'),
    (dict(Condition={"IpAddress": {"aws:SourceIp": {"a": 1}}}),
     f"{S0}.Condition.IpAddress.aws:SourceIp",
     "must be a string, number or boolean, or a list of them, got an object"),
    (dict(Condition={"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", None]}}),
     f"{S0}.Condition.IpAddress.aws:SourceIp",
     "must be a string, number or boolean, or a list of them, got a list"),
    (dict(Condition={"Ip\x1bAddress": []}), f'{S0}.Condition."Ip\\u001bAddress"',
     "must be an object of condition keys, got a list"),
])
def test_statements_refused_whole(changes, where, problem):
    assert statement_refusal(**changes) == (where, problem)


# -- what a refusal shows of the input -------------------------------------------------------

@pytest.mark.parametrize(("effect", "shown"), [
    ("x" * 58, '"' + "x" * 58 + '"'),  # 60 characters with the quotes: shown whole
    ("x" * 59, '"' + "x" * 58 + "…"),
    ("\x1b]0;owned\x07", '"\\u001b]0;owned\\u0007"'),
    ("caf\xe9 \x7f\x9f\xa0", '"caf\xe9 \\u007f\\u009f\xa0"'),
    (1.5, "1.5"),
    (True, "true"),
    ({"Allow": 1}, "an object"),
])
def test_a_refusal_quotes_the_value_short_and_without_control_characters(effect, shown):
    assert statement_refusal(Effect=effect)[1] == f'Effect must be "Allow" or "Deny", got {shown}'


@pytest.mark.parametrize(("key", "where"), [
    ("k" * 60, "k" * 60),
    ("k" * 61, '"' + "k" * 58 + "…"),
    ("a\nb", '"a\\nb"'),
])
def test_a_field_path_quotes_keys_that_are_long_or_carry_control_characters(key, where):
    assert statement_refusal(Condition={"Bool": {key: None}})[0] == (
        f"{S0}.Condition.Bool.{where}")
