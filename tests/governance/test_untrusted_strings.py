"""Strings from AWS are untrusted: whoever can write IAM chooses user names, tag values and
policy text. Synced through moto, they must be stored within bounds (marked when cut, never a
database error), shown escaped on every page, neutralised in the CSV export and returned
verbatim — as JSON, never as markup — by the API.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from moto.iam.models import iam_backends

from governance.aws.snapshots import AccountSnapshot, KeySnapshot, PolicyRef, UserSnapshot
from governance.exports import csv_lines, neutralise_formula
from governance.models import AccessKey, IamUser, PolicyDocument, SyncRun
from governance.reconcile import TAG_VALUE_MAX, reconcile_account
from governance.services.exceptions import exception_request
from governance.services.keys import owner_assign
from governance.sync import sync_account
from governance.untrusted import TRUNCATED, clip
from tests.conftest import account_clients
from tests.factories import AccessKeyFactory, AccountFactory, IamUserFactory, personas

pytestmark = pytest.mark.django_db

ACCOUNT = "222222222222"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
# Real IAM user names allow + = , . @ - _: every formula starter but the tab.
FORMULA_USERS = ["=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3", "@SUM(A1)"]
HOSTILE_USER = f"svc{IMG}"
LONG = "x" * 10_000
HOSTILE_DOCUMENT = {"Version": "2012-10-17", "Statement": [{
    "Sid": "Hostile", "Effect": "Allow", "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{SCRIPT}\u0000\u001b[31m"}]}


@pytest.fixture
def hostile(aws, register_account):
    """An account whose IAM is full of markup, formulas, a 10k tag and a NUL in a policy."""
    iam = account_clients(ACCOUNT).client("iam")
    for name in [HOSTILE_USER, *FORMULA_USERS]:
        iam.create_user(UserName=name, Tags=[
            {"Key": "team", "Value": SCRIPT}, {"Key": "note", "Value": LONG},
            {"Key": "lookalike", "Value": "＜script＞＝1+2"},
            {"Key": IMG, "Value": "=HYPERLINK(\"http://evil\")"}])
        iam.create_access_key(UserName=name)
    iam.put_user_policy(UserName=HOSTILE_USER, PolicyName=IMG,
                        PolicyDocument=json.dumps(HOSTILE_DOCUMENT))
    backend = iam_backends[ACCOUNT]["aws"]
    for key in backend.access_keys.values():  # overdue: every workflow page lists them
        key.create_date = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    account = register_account(ACCOUNT, name=f"prod {SCRIPT}")
    run = sync_account(account=account).run
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return AccessKey.objects.get(user__name=HOSTILE_USER)


def test_hostile_strings_are_stored_bounded_and_marked(hostile):
    user = IamUser.objects.get(name=HOSTILE_USER)
    assert user.tags["team"] == SCRIPT  # kept as typed: escaping is the page's job
    assert len(user.tags["note"]) == TAG_VALUE_MAX and user.tags["note"].endswith(TRUNCATED)
    assert user.policies[0]["name"] == IMG
    document = PolicyDocument.objects.get(digest=user.policies[0]["digest"]).document
    resource = document["Statement"][0]["Resource"]
    assert SCRIPT in resource and "\x00" not in resource and "\x1b" not in resource


def test_control_characters_and_nul_from_aws_never_reach_the_database(register_account):
    """moto cannot carry a NUL in a tag (its XML breaks), real AWS might not either: the
    snapshot is built by hand, as a collector would hand it over."""
    hostile_text = "owner\x00@example.com\x1b[2J" + LONG
    user = UserSnapshot(
        user_id="AIDAHOSTILE", name="svc\x00\x07", arn="arn:aws:iam::222222222222:user/svc",
        path="/", created_at=None, password_enabled=False, password_last_used_at=None,
        tags=(("owner", hostile_text), ("k\x00", "v")),
        policies=(PolicyRef("user-inline", "p\x00", {"Sid": "\x00", "\x00k": ["\x01"]}),))
    key = KeySnapshot(user_id="AIDAHOSTILE", access_key_id="AKIAHOSTILE0000000001",
                      status="Active", created_at=None, last_used_service="s3\x00" + LONG)
    snapshot = AccountSnapshot(account_id=ACCOUNT, users=(user,), keys=(key,),
                               root_keys_present=False, cloudtrail_logging=True, trails=(),
                               credential_report_at=None)
    with transaction.atomic():
        reconcile_account(account=register_account(ACCOUNT), snapshot=snapshot,
                          now=timezone.now())
    stored = IamUser.objects.get(user_id="AIDAHOSTILE")
    assert stored.name == "svc" and stored.tags["k"] == "v"
    assert stored.tags["owner"].startswith("owner@example.com[2J")
    assert stored.tags["owner"].endswith(TRUNCATED) and len(stored.tags["owner"]) == 256
    assert stored.policies[0]["name"] == "p"
    document = PolicyDocument.objects.get(digest=stored.policies[0]["digest"]).document
    assert document == {"Sid": "", "k": [""]}
    service = AccessKey.objects.get().last_used_service
    assert len(service) == 128 and service.startswith("s3x") and service.endswith(TRUNCATED)


def test_clip_removes_control_characters_and_marks_what_it_cuts():
    assert clip("a\x00b\x1b[0m\x07c\td\ne", 100) == "ab[0mc\td\ne"
    assert clip("ok", 2) == "ok"
    assert clip(LONG, 256) == "x" * (256 - len(TRUNCATED)) + TRUNCATED


def _pages(key, people):
    """Every page that shows the hostile key's AWS strings, with who may see it."""
    security, owner = people["security"], people["owner"]
    exception = key.exceptions.get()
    return [
        (security, reverse("inventory")),
        (security, reverse("inventory") + "?q=svc"),
        (security, reverse("key-detail", args=[key.pk])),
        (security, reverse("ownership-gaps")),
        (security, reverse("rotation")),
        (security, reverse("aws-accounts")),
        (security, reverse("exceptions") + "?tab=all"),
        (security, reverse("exception-detail", args=[exception.pk])),
        (owner, reverse("my-keys")),
        (owner, reverse("key-register", args=[key.pk])),
        (owner, reverse("exception-new", args=[key.pk])),
    ]


@pytest.fixture
def people(people, hostile):
    found = people
    owner_assign(actor=found["security"], key=hostile, person=found["owner"])
    exception_request(actor=found["owner"], key=hostile, code="ROTATION_OVERDUE",
                      justification=f"because {SCRIPT}",
                      expires_on=timezone.localdate() + timedelta(days=5))
    return found


def test_every_page_showing_aws_strings_escapes_them(client, hostile, people):
    for person, url in _pages(hostile, people):
        client.force_login(person)
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert SCRIPT not in html and IMG not in html, url
        assert "&lt;script&gt;" in html or "&lt;img" in html, url
        assert "\x00" not in html, url


def test_the_key_detail_page_shows_the_tags_and_policy_names_escaped(client, hostile, people):
    client.force_login(people["security"])
    html = client.get(reverse("key-detail", args=[hostile.pk])).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the policy name and a tag key
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the tag value
    assert "＜script＞＝1+2" in html  # look-alikes are plain text: shown as they are
    assert LONG not in html and TRUNCATED in html


def test_the_csv_export_neutralises_formulas_in_aws_strings(client, hostile, people):
    client.force_login(people["security"])
    response = client.get(reverse("inventory-export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    users = {row["user_name"] for row in rows}
    assert users == {HOSTILE_USER, *(f"'{name}" for name in FORMULA_USERS)}
    assert {row["account_name"] for row in rows} == {f"prod {SCRIPT}"}


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("\tabc", "'\tabc"), ("\rabc", "'\rabc"),
    ("a=1", "a=1"), ("", ""), ("svc-ci", "svc-ci"), (" x=1", " x=1"), ("  ", "  "),
    ("1-2", "1-2"), ("us-east-1", "us-east-1"),
])
def test_formula_starters_are_neutralised_and_nothing_else_changes(value, cell):
    assert neutralise_formula(value) == cell


# A formula behind whitespace (any Unicode space, line break, an invisible format character)
# or written with a full-width / small look-alike of its sign still runs in a spreadsheet.
HIDDEN_FORMULAS = [
    " =1+1", "\n=1+1", "\xa0=1+1", "\u3000=1+1", "\u2028=1+1", "\u200b=1+1", "\ufeff=1+1",
    "＝1+1", "＋1+1", "－1+1", "＠SUM(A1)", " ＝1+1", "﹦1+1", "﹢1+1", "﹣1+1", "﹫SUM(A1)",
    "\t=1+1", "\r=1+1", " \t +1", "\r\n@SUM(A1)",
]


@pytest.mark.parametrize("value", HIDDEN_FORMULAS, ids=repr)
def test_a_formula_behind_whitespace_or_a_look_alike_is_neutralised(value):
    assert neutralise_formula(value) == "'" + value


def _keys_named_after(values: list[str]) -> None:
    """One key per value, the value in every AWS-chosen text column of the export."""
    for value in values:
        user = IamUserFactory(name=value, account=AccountFactory(name=value))
        AccessKeyFactory(user=user, last_used_service=value, last_used_region=value)


HIDDEN_COLUMNS = ("account_name", "user_name", "last_used_service", "last_used_region")


def _assert_every_hidden_formula_neutralised(csv_text: str) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text, newline="")))
    assert len(rows) == len(HIDDEN_FORMULAS)
    cells = {column: sorted(row[column] for row in rows) for column in HIDDEN_COLUMNS}
    assert cells == {column: sorted("'" + value for value in HIDDEN_FORMULAS)
                     for column in HIDDEN_COLUMNS}


def test_the_csv_export_neutralises_formulas_behind_whitespace_and_look_alikes(client):
    _keys_named_after(HIDDEN_FORMULAS)
    client.force_login(personas()["security"])
    response = client.get(reverse("inventory-export"))
    assert response.status_code == 200
    _assert_every_hidden_formula_neutralised(b"".join(response.streaming_content).decode())


def test_export_keys_neutralises_formulas_behind_whitespace_and_look_alikes():
    _keys_named_after(HIDDEN_FORMULAS)
    out = io.StringIO()
    call_command("export_keys", "--format", "csv", stdout=out)
    _assert_every_hidden_formula_neutralised(out.getvalue())


def test_a_csv_cell_with_quotes_and_line_breaks_stays_one_cell():
    row = {column: "" for column in ("account_id", "account_name", "access_key_id", "status",
                                     "created_at", "age_days", "last_used_at",
                                     "last_used_service", "last_used_region", "owner_email",
                                     "purpose", "findings", "compliance")}
    row["user_name"] = 'a "quoted"\r\nname,=1'
    parsed = list(csv.DictReader(io.StringIO("".join(csv_lines([row])))))
    assert len(parsed) == 1 and parsed[0]["user_name"] == row["user_name"]


def test_the_api_returns_aws_strings_verbatim_as_json(client, hostile, people):
    client.force_login(people["security"])
    response = client.get(f"/api/v1/keys/{hostile.pk}/")
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.json()
    assert body["user_name"] == HOSTILE_USER and body["account_name"] == f"prod {SCRIPT}"
    listed = client.get("/api/v1/keys/", {"q": "svc"}).json()["results"]
    assert [k["user_name"] for k in listed] == [HOSTILE_USER]
    exceptions = client.get("/api/v1/exceptions/").json()["results"]
    assert exceptions[0]["user_name"] == HOSTILE_USER


def test_the_audit_log_escapes_what_it_echoes(client, hostile, people):
    """Audit summaries name keys by id; the search box echoes the person's text, escaped."""
    client.force_login(people["security"])
    html = client.get(reverse("audit-log"), {"q": IMG, "actor": SCRIPT}).content.decode()
    assert IMG not in html and SCRIPT not in html
    assert 'value="&lt;img src=x onerror=alert(1)&gt;"' in html
