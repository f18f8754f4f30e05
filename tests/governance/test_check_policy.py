"""``manage.py check_policy [--json] FILE...`` as someone proposing a key would run it.

No test here touches the database (pytest-django would refuse it): the command judges files.
"""

import io
import json
import time
from urllib.parse import quote

import pytest
from django.core.management import call_command

from governance import policy_input

ADMIN = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
OFFICE_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "UploadBuilds", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
    "Resource": "arn:aws:s3:::builds/*",
    "Condition": {"IpAddress": {"aws:SourceIp": ["198.51.100.0/24"]}}}]}
READ_ANYWHERE = {"Version": "2012-10-17", "Statement": {
    "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}}


def run(*args) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``manage.py check_policy *args``."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_policy", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue(), err.getvalue()


def write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def policy(name="p", kind="user-inline", document=None) -> dict:
    return {"name": name, "kind": kind, "document": ADMIN if document is None else document}


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# -- verdicts --------------------------------------------------------------------------------

def test_plain_output_names_the_file_and_each_verdict_with_its_reason(tmp_path):
    path = write(tmp_path, "admins.json", [policy("AdministratorAccess", "group-attached")])

    status, out, err = run(path)

    assert status == 0 and err == ""
    assert out.startswith(f"{path} (1 policy): would be flagged ADMIN_PRIVILEGE")
    assert "NO_SOURCE_RESTRICTION" in out.splitlines()[0]
    assert 'Permissions  admin: yes - attached policy "AdministratorAccess" (group)' in out
    assert "escalation: no" in out
    assert "Source       restricted: no - " in out


def test_plain_output_says_when_nothing_would_be_flagged(tmp_path):
    path = write(tmp_path, "ci.json", [policy("upload", document=OFFICE_ONLY)])

    status, out, _ = run(path)

    assert status == 0
    assert "nothing flagged" in out.splitlines()[0]
    assert "admin: no - " in out and "restricted: yes - " in out
    assert "aws:SourceIp" in out


def test_json_prints_one_line_per_file_with_the_file_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "admin.json", [policy()])
    write(tmp_path, "ci.json", [policy("upload", document=OFFICE_ONLY)])

    status, out, err = run("--json", "admin.json", "./ci.json")

    assert status == 0 and err == ""
    admin, ci = json_lines(out)
    assert list(admin) == ["file", "admin", "escalation", "source_restricted", "reasons"]
    assert admin["file"] == "admin.json" and ci["file"] == "./ci.json"
    assert admin["admin"] is True and admin["source_restricted"] is False
    assert ci["admin"] is False and ci["source_restricted"] is True
    assert ci["escalation"] is False
    assert set(admin["reasons"]) == {"admin", "escalation", "source"}
    assert '"p"' in admin["reasons"]["admin"]


def test_a_single_document_is_one_user_inline_policy_named_after_the_file(tmp_path):
    path = write(tmp_path, "deploy-policy.json", ADMIN)

    status, out, _ = run("--json", path)

    assert status == 0
    (line,) = json_lines(out)
    assert line["admin"] is True
    assert 'inline policy "deploy-policy.json" (user)' in line["reasons"]["admin"]


@pytest.mark.parametrize("spelling", ["object", "json-string", "url-encoded"])
def test_a_document_may_be_an_object_a_json_string_or_url_encoded(tmp_path, spelling):
    document = {"object": READ_ANYWHERE, "json-string": json.dumps(READ_ANYWHERE),
                "url-encoded": quote(json.dumps(READ_ANYWHERE), safe="")}[spelling]
    path = write(tmp_path, "p.json", [policy("reader", document=document)])

    status, out, _ = run("--json", path)

    assert status == 0
    (line,) = json_lines(out)
    assert line["admin"] is False and line["source_restricted"] is False
    assert '"reader"' in line["reasons"]["source"]


def test_policies_from_several_places_are_judged_together(tmp_path):
    """An Allow for everything in one policy and a source guard in another: one user."""
    guard = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}]}
    path = write(tmp_path, "two.json", [policy("reader", "group-inline", READ_ANYWHERE),
                                        policy("office-guard", "user-attached", guard)])

    (line,) = json_lines(run("--json", path)[1])

    assert line["source_restricted"] is True
    assert '"office-guard"' in line["reasons"]["source"]


def test_the_api_body_shape_is_accepted_as_a_file(tmp_path):
    path = write(tmp_path, "body.json", {"policies": [policy()]})

    status, out, _ = run("--json", path)

    assert status == 0 and json_lines(out)[0]["admin"] is True


def test_a_statement_without_effect_is_judged_as_granting_nothing_with_a_warning(tmp_path):
    document = {"Statement": [{"Action": "*", "Resource": "*"}]}
    path = write(tmp_path, "no-effect.json", [policy(document=document)])

    status, out, err = run("--json", path)

    assert status == 0
    assert json_lines(out)[0]["admin"] is False
    assert f'{path}: warning: policies[0].document.Statement[0]: has no "Effect"' in err


# -- files that cannot be judged -------------------------------------------------------------

def test_one_bad_file_among_several_exits_2_and_the_others_are_still_judged(tmp_path):
    good = write(tmp_path, "good.json", [policy()])
    bad = write(tmp_path, "bad.json", "[{")
    also_good = write(tmp_path, "also-good.json", OFFICE_ONLY)

    status, out, err = run("--json", good, bad, also_good)

    assert status == 2
    assert [line["file"] for line in json_lines(out)] == [good, also_good]
    assert err.splitlines()[0].startswith(f"{bad}: the file is not JSON:")
    assert "1 of 3 files could not be judged" in err


def test_a_missing_file_is_named_with_why(tmp_path):
    missing = str(tmp_path / "nope.json")

    status, out, err = run(missing)

    assert status == 2 and out == ""
    assert f"{missing}: cannot be read: No such file or directory" in err


def test_a_directory_is_named_with_why(tmp_path):
    status, _, err = run(str(tmp_path))

    assert status == 2
    assert f"{tmp_path}: cannot be read: Is a directory" in err


def test_a_ten_megabyte_file_is_refused_quickly_without_being_read_whole(
        tmp_path, policy_file_reads):
    padding = [policy(f"p{n}", document=READ_ANYWHERE) for n in range(60_000)]
    path = write(tmp_path, "huge.json", padding)
    assert (tmp_path / "huge.json").stat().st_size > 10_000_000
    started = time.monotonic()

    status, out, err = run("--json", path)

    assert time.monotonic() - started < 2
    assert status == 2 and out == ""
    assert f"{path}: is larger than 1,048,576 bytes" in err
    assert policy_file_reads == [policy_input.MAX_FILE_BYTES + 1]


def test_a_file_just_under_the_limit_is_judged(tmp_path):
    body = json.dumps([policy()])
    path = write(tmp_path, "padded.json", body + " " * (policy_input.MAX_FILE_BYTES - len(body)))

    status, out, _ = run("--json", path)

    assert status == 0 and json_lines(out)[0]["admin"] is True


def statement(**changes) -> dict:
    """A user-inline policy whose one statement is a valid one with ``changes`` applied."""
    item = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    item.update(changes)
    return [{"name": "p", "kind": "user-inline",
             "document": {"Version": "2012-10-17",
                          "Statement": [{k: v for k, v in item.items() if v is not None}]}}]


S0 = "policies[0].document.Statement[0]"
BAD_FILES = [
    ("not-utf8", b'[{"name": "caf\xe9"}]', "is not UTF-8 text"),
    ("empty", "", "the file is not JSON: Expecting value at line 1 column 1"),
    ("not-json", "Version: 2012-10-17", "the file is not JSON"),
    ("deeply-nested", "[" * 200_000 + "]" * 200_000, "the file is nested too deeply"),
    ("a-number", "42", "must be a JSON list of policies"),
    ("not-a-document", {"Version": "2012-10-17"}, 'has no "Statement"'),
    ("item-not-object", [policy(), "AdministratorAccess"], "policies[1]: must be an object"),
    ("no-name", [{"kind": "user-inline", "document": ADMIN}], "policies[0].name: this field is "
                                                               "required"),
    ("no-kind", [{"name": "p", "document": ADMIN}], "policies[0].kind: this field is required"),
    ("no-document", [{"name": "p", "kind": "user-inline"}], "policies[0].document: this field "
                                                            "is required"),
    ("unknown-field", [{**policy(), "Kind": "x"}], 'policies[0]: unknown element "Kind"'),
    ("unknown-kind", [policy(kind="role-inline")], 'policies[0].kind: must be one of '
                                                   'user-inline, user-attached, group-inline, '
                                                   'group-attached; got "role-inline"'),
    ("name-not-string", [{**policy(), "name": 7}], "policies[0].name: must be a string, got a "
                                                   "number"),
    ("name-empty", [policy(name=" ")], "policies[0].name: must not be empty"),
    ("name-control", [policy(name="a\x1b[31m")], "policies[0].name: must not contain control"),
    ("document-list", [policy(document=[ADMIN])], "policies[0].document: must be a policy "
                                                  "document"),
    ("document-text-not-json", [policy(document="Allow everything")],
     "policies[0].document: the document text is not JSON"),
    ("document-url-encoded-broken", [policy(document="%7B%22Statement%22")],
     "policies[0].document: the URL-decoded document text is not JSON"),
    ("no-statement", [policy(document={"Version": "2012-10-17"})],
     'policies[0].document: has no "Statement"'),
    ("statement-lowercase", [policy(document={"statement": []})],
     'policies[0].document: unknown element "statement" (did you mean "Statement"?'),
    ("statement-string", [policy(document={"Statement": "Allow *"})],
     "policies[0].document.Statement: must be an object or a list of objects"),
    ("statement-item-list", [policy(document={"Statement": [[]]})],
     "policies[0].document.Statement[0]: must be an object, got a list"),
    ("bad-version", [policy(document={**ADMIN, "Version": "2024-01-01"})],
     'policies[0].document.Version: must be "2012-10-17" (or the older "2008-10-17"), got '
     '"2024-01-01"'),
    ("effect-permit", statement(Effect="Permit"),
     f'{S0}: Effect must be "Allow" or "Deny", got "Permit"'),
    ("effect-lowercase", statement(Effect="allow"), f'{S0}: Effect must be "Allow" or "Deny"'),
    ("no-action", statement(Action=None), f'{S0}: needs "Action" or "NotAction"'),
    ("action-and-notaction", statement(NotAction="iam:*"),
     f'{S0}: has both "Action" and "NotAction"'),
    ("no-resource", statement(Resource=None), f'{S0}: needs "Resource" or "NotResource"'),
    ("resource-and-notresource", statement(NotResource="arn:aws:s3:::x"),
     f'{S0}: has both "Resource" and "NotResource"'),
    ("action-number", statement(Action=5), f"{S0}.Action: must be a string or a list of "
                                           "strings, got a number"),
    ("action-list-with-object", statement(Action=["s3:GetObject", {"x": 1}]),
     f"{S0}.Action[1]: must be a string or a list of strings, got an object"),
    ("resource-null", statement(Resource=[None]), f"{S0}.Resource[0]: must be a string"),
    ("resource-empty", statement(Resource=""), f"{S0}.Resource: must not be empty"),
    ("condition-list", statement(Condition=[{"IpAddress": {}}]),
     f"{S0}.Condition: must be an object of operators"),
    ("condition-operator-string", statement(Condition={"IpAddress": "198.51.100.0/24"}),
     f"{S0}.Condition.IpAddress: must be an object of condition keys"),
    ("condition-value-object", statement(Condition={"IpAddress": {"aws:SourceIp": {"a": 1}}}),
     f"{S0}.Condition.IpAddress.aws:SourceIp: must be a string, number or boolean"),
    ("principal", statement(Principal="*"), f"{S0}: has a Principal"),
    ("unknown-statement-element", statement(Actions="s3:*"),
     f'{S0}: unknown element "Actions"'),
]


@pytest.mark.parametrize("content, message", [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_bad_input_is_refused_naming_the_file_and_the_field(tmp_path, content, message):
    path = write(tmp_path, "policy.json", content)

    status, out, err = run("--json", path)

    assert status == 2 and out == ""
    assert f"{path}: {message}" in err, err
    assert "Traceback" not in err


def test_a_bad_single_document_names_the_field_without_a_policies_prefix(tmp_path):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "*",
                                                        "Resource": "*"}]}
    path = write(tmp_path, "policy.json", document)

    _, _, err = run(path)

    assert f'{path}: Statement[0]: Effect must be "Allow" or "Deny", got "Permit"' in err


def test_error_messages_never_carry_terminal_control_characters(tmp_path):
    path = write(tmp_path, "policy.json", statement(Effect="\x1b]0;owned\x07"))

    _, _, err = run(path)

    assert "\x1b" not in err and "\x07" not in err
    assert "\\u001b" in err


def test_plain_output_never_carries_terminal_control_characters(tmp_path):
    """Actions are quoted in reasons as written; one with an escape sequence or a line break
    must neither drive the terminal nor add lines."""
    document = {"Statement": [{"Effect": "Allow", "NotAction": ["\x1b[2J\nfake: line"],
                               "Resource": "*"}]}
    path = write(tmp_path, "policy.json", [policy(document=document)])

    status, out, _ = run(path)

    assert status == 0
    assert "\x1b" not in out
    assert len(out.splitlines()) == 4


def _manage(*args, tmp_path):
    """Run manage.py as a team would from a checkout: no SECRET_KEY, no DEBUG."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, str(root / "manage.py"), *args], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_check_policy_runs_from_a_checkout_without_production_settings(tmp_path):
    path = tmp_path / "admin.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    done = _manage("check_policy", "--json", str(path), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["admin"] is True


def test_other_commands_still_refuse_to_start_without_a_secret_key(tmp_path):
    done = _manage("showmigrations", tmp_path=tmp_path)
    assert done.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in done.stderr
