"""``import_people``: the people CSV of DESIGN.md, re-runnable, all-or-nothing, audited."""

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, Person
from accounts.tokens import api_token_create
from governance.models import AuditEvent
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
HEADER = "email,name,manager_email,roles,active\n"


def write(tmp_path, text: str | bytes):
    path = tmp_path / "people.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def refused(tmp_path, body: str | bytes) -> str:
    """The error of importing ``body``, after checking that it wrote nothing at all."""
    people_before = list(Person.objects.values_list("email", "name", "manager_id", "is_active"))
    audit_before = AuditEvent.objects.count()
    with pytest.raises(CommandError) as error:
        call_command("import_people", write(tmp_path, body))
    assert list(Person.objects.values_list("email", "name", "manager_id", "is_active")) \
        == people_before
    assert AuditEvent.objects.count() == audit_before
    return str(error.value)


def person_events():
    return [(e.actor_label, e.action, e.object_id, e.before, e.after)
            for e in AuditEvent.objects.filter(object_type="Person").order_by("id")]


def test_import_creates_people_with_managers_and_roles(tmp_path, capsys):
    path = write(tmp_path, HEADER
                 + "Sec@Example.com,Sam Sec,,security,true\n"
                 + "boss@example.com,Bo Ss,,manager security,true\n"
                 + "dev@example.com,Dee Dev,boss@example.com,,true\n"
                 + "gone@example.com,Gone,boss@example.com,,false\n")

    call_command("import_people", path)

    assert "4 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    dev = Person.objects.get(email="dev@example.com")
    assert dev.manager.email == "boss@example.com"
    assert Person.objects.get(email="sec@example.com").is_security
    boss = Person.objects.get(email="boss@example.com")
    assert boss.is_manager and boss.is_security
    assert not Person.objects.get(email="gone@example.com").is_active
    assert not dev.has_usable_password()


def test_reimport_updates_without_duplicating(tmp_path, capsys):
    first = HEADER + "boss@example.com,Boss,,manager,true\ndev@example.com,Dev,,,true\n"
    call_command("import_people", write(tmp_path, first))
    call_command("import_people", write(tmp_path, first))
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out.splitlines()[-1]

    changed = HEADER + "BOSS@example.com,Boss,,,true\ndev@example.com,Dev,boss@example.com,,false\n"
    call_command("import_people", write(tmp_path, changed))

    assert "0 created, 2 updated, 0 unchanged" in capsys.readouterr().out
    assert Person.objects.count() == 2
    dev = Person.objects.get(email="dev@example.com")
    assert dev.manager.email == "boss@example.com" and not dev.is_active
    assert not Person.objects.get(email="boss@example.com").is_manager


@pytest.mark.parametrize("body, message", [
    ("email,name\nx@example.com,X\n", "header must be exactly"),
    (HEADER + "not-an-email,X,,,true\n", "line 2: email 'not-an-email'"),
    (HEADER + "x@example.com,X,,admin,true\n", "unknown roles ['admin']"),
    (HEADER + "x@example.com,X,,,maybe\n", "active must be true or false"),
    (HEADER + "x@example.com,X,,,true\nX@example.com,X,,,true\n", "appears twice"),
    (HEADER + "x@example.com,X,nobody@example.com,,true\n", "unknown manager e-mails"),
    (HEADER + "x@example.com,X,x@example.com,,true\n", "their own manager"),
])
def test_bad_file_imports_nothing_and_says_why(tmp_path, body, message):
    good = "ok@example.com,Ok,,,true\n"
    with pytest.raises(CommandError) as error:
        text = body + (good if body.startswith(HEADER) else "")
        call_command("import_people", write(tmp_path, text))
    assert message in str(error.value)
    assert Person.objects.count() == 0


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_people", str(tmp_path / "absent.csv"))


# -- issue 12, item 8: a bad character names its line, never a database traceback ----------

@pytest.mark.parametrize("bad, field, why", [
    ("Nul\x00Name", "name", "control character (U+0000"),
    ("Esc\x1b[31mName", "name", "control character (U+001B"),
    ("Bell\x07", "name", "control character (U+0007"),
    ("Del\x7f", "name", "control character (U+007F"),
    ("Next\x85Line", "name", "control character (U+0085"),
    ("Line\u2028Sep", "name", "control character (U+2028"),
    ("Evil\u202eeman", "name", "control character (U+202E"),
    ('"Two\nLines"', "name", "control character (U+000A"),
])
def test_a_control_character_names_its_line_and_imports_nothing(tmp_path, bad, field, why):
    body = (HEADER + "ok@example.com,Ok,,,true\n"
            + f"x@example.com,{bad},,,true\n" + "ok2@example.com,Ok,,,true\n")
    message = refused(tmp_path, body)
    assert f"line 3: {field} holds a {why}" in message
    assert "line 2" not in message and "line 4" not in message
    assert "DataError" not in message and Person.objects.count() == 0


def test_a_nul_in_an_e_mail_or_the_flags_is_named_too(tmp_path):
    body = (HEADER + "a\x00b@example.com,A,,,true\n" + "c@example.com,C,,security\x00,true\n"
            + "d@example.com,D,,,tr\x00ue\n" + "e@example.com,E,boss\x00@example.com,,true\n")
    message = refused(tmp_path, body)
    assert "line 2: email holds a control character (U+0000" in message
    assert "line 3: roles holds a control character" in message
    assert "line 4: active holds a control character" in message
    assert "line 5: manager_email holds a control character" in message


@pytest.mark.parametrize("raw", [
    b"\xed\xa0\x80",  # a lone surrogate (U+D800) written out as if it were UTF-8
    b"\xff",  # never valid in UTF-8
    b"Ren\xe9",  # Latin-1, not UTF-8
])
def test_bytes_that_are_not_utf8_name_their_line(tmp_path, raw):
    body = (HEADER + "ok@example.com,Ok,,,true\n").encode() + b"x@example.com,X" + raw \
        + b",,,true\n" + "ok2@example.com,Zo\u00eb,,,true\n".encode()
    message = refused(tmp_path, body)
    assert "line 3: name is not UTF-8 text (byte 0x" in message
    assert "line 4" not in message


def test_a_value_too_long_for_the_csv_reader_names_its_line(tmp_path):
    body = HEADER + "ok@example.com,Ok,,,true\n" + "x@example.com," + "n" * 200_000 + ",,,true\n"
    assert "line 3: field larger than field limit" in refused(tmp_path, body)


def test_a_byte_order_mark_and_non_ascii_names_are_fine(tmp_path):
    body = "\ufeff" + HEADER + "zoe@example.com,Zo\u00eb \u5f20,,,true\n"
    call_command("import_people", write(tmp_path, body))
    assert Person.objects.get().name == "Zo\u00eb \u5f20"


def test_every_bad_line_is_named_at_once(tmp_path):
    body = (HEADER.encode() + b"a@example.com,A\x00,,,true\n" + b"b@example.com,B\xff,,,true\n"
            + b"not-an-email,C,,,true\n" + b"d@example.com,D,,,true\n")
    message = refused(tmp_path, body)
    assert all(f"line {n}:" in message for n in (2, 3, 4))
    assert "line 5" not in message


# -- issue 12, item 9: manager links never loop -------------------------------------------

def test_a_manager_loop_in_the_file_is_refused_naming_the_people(tmp_path):
    body = (HEADER + "a@example.com,A,b@example.com,,true\n" + "ok@example.com,Ok,,,true\n"
            + "b@example.com,B,c@example.com,,true\n" + "C@Example.com,C,A@example.com,,true\n")
    message = refused(tmp_path, body)
    assert ("lines 2, 4, 5: manager loop a@example.com -> b@example.com -> c@example.com "
            "-> a@example.com") in message
    assert Person.objects.count() == 0


def test_a_loop_closed_with_people_already_stored_is_refused(tmp_path):
    call_command("import_people", write(tmp_path, HEADER + "boss@example.com,Boss,,,true\n"
                                        + "dev@example.com,Dev,boss@example.com,,true\n"))
    message = refused(tmp_path, HEADER + "boss@example.com,Boss,dev@example.com,,true\n")
    assert ("line 2: manager loop boss@example.com -> dev@example.com -> boss@example.com "
            "(dev@example.com: as stored in Keyledger, not in this file)") in message
    assert Person.objects.get(email="boss@example.com").manager is None


@pytest.mark.parametrize("manager", ["x@example.com", "X@EXAMPLE.COM", " x@example.com "])
def test_a_person_cannot_be_their_own_manager_in_any_spelling(tmp_path, manager):
    message = refused(tmp_path, HEADER + f"x@example.com,X,{manager},,true\n")
    assert "line 2: a person cannot be their own manager" in message


def test_reversing_a_reporting_line_is_not_a_loop(tmp_path):
    """boss -> dev becomes dev -> boss in one file: managers are written first."""
    call_command("import_people", write(tmp_path, HEADER + "boss@example.com,Boss,,,true\n"
                                        + "dev@example.com,Dev,boss@example.com,,true\n"))
    call_command("import_people", write(tmp_path, HEADER
                                        + "boss@example.com,Boss,dev@example.com,,true\n"
                                        + "dev@example.com,Dev,,,true\n"))
    assert Person.objects.get(email="boss@example.com").manager.email == "dev@example.com"
    assert Person.objects.get(email="dev@example.com").manager is None


# -- issue 12, item 3: every change the import makes is audited ----------------------------

def test_import_audits_each_person_created(tmp_path):
    call_command("import_people", write(tmp_path, HEADER
                                        + "dev@example.com,Dev,boss@example.com,,true\n"
                                        + "boss@example.com,Boss,,manager security,true\n"))
    boss = Person.objects.get(email="boss@example.com")
    dev = Person.objects.get(email="dev@example.com")
    state = {"is_staff": False, "is_superuser": False, "is_active": True}
    assert person_events() == [
        ("system", "person.create", str(boss.pk), None,
         {"email": "boss@example.com", "name": "Boss", "manager": None,
          "groups": ["manager", "security"], **state}),
        ("system", "person.create", str(dev.pk), None,
         {"email": "dev@example.com", "name": "Dev", "manager": "boss@example.com",
          "groups": [], **state}),
    ]
    assert all("import_people" in e.summary for e in AuditEvent.objects.all())


def test_import_audits_each_change_with_before_and_after(tmp_path):
    call_command("import_people", write(tmp_path, HEADER + "boss@example.com,Boss,,manager,true\n"
                                        + "dev@example.com,Dev,,,true\n"
                                        + "same@example.com,Same,,,true\n"))
    boss = Person.objects.get(email="boss@example.com")
    dev = Person.objects.get(email="dev@example.com")
    first = len(person_events())

    call_command("import_people", write(tmp_path, HEADER + "boss@example.com,Boss,,,false\n"
                                        + "dev@example.com,Dee Dev,boss@example.com,security,true\n"
                                        + "same@example.com,Same,,,true\n"))

    assert person_events()[first:] == [
        ("system", "person.update", str(boss.pk), {"groups": ["manager"]}, {"groups": []}),
        ("system", "person.deactivate", str(boss.pk), {"is_active": True},
         {"is_active": False, "sessions_ended": 0, "api_tokens_revoked": []}),
        ("system", "person.update", str(dev.pk),
         {"name": "Dev", "manager": None, "groups": []},
         {"name": "Dee Dev", "manager": "boss@example.com", "groups": ["security"]}),
    ]


def test_import_leaves_groups_other_than_the_roles_alone(tmp_path):
    from django.contrib.auth.models import Group

    person = PersonFactory(email="dev@example.com", name="Dev", roles=["auditors"])
    call_command("import_people", write(tmp_path, HEADER + "dev@example.com,Dev,,manager,true\n"))
    assert sorted(person.groups.values_list("name", flat=True)) == ["auditors", "manager"]
    assert Group.objects.filter(name="auditors").exists()


def test_deactivating_by_import_ends_sessions_and_tokens_for_good(tmp_path, client):
    dev = PersonFactory(email="dev@example.com", name="Dev")
    other = PersonFactory(email="other@example.com", name="Other")
    client.force_login(dev)
    other_client = type(client)()
    other_client.force_login(other)
    _, secret = api_token_create(actor=dev, name="ci", days=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/keys/").status_code == 200

    call_command("import_people", write(tmp_path, HEADER + "dev@example.com,Dev,,,false\n"
                                        + "other@example.com,Other,,,true\n"))

    assert not any(s.get_decoded().get("_auth_user_id") == str(dev.pk)
                   for s in Session.objects.all())
    assert api.get("/api/v1/keys/").status_code == 401
    assert ApiToken.objects.get(person=dev).revoked_at is not None
    event = AuditEvent.objects.get(action="person.deactivate")
    assert event.after["sessions_ended"] == 1 and len(event.after["api_tokens_revoked"]) == 1

    call_command("import_people", write(tmp_path, HEADER + "dev@example.com,Dev,,,true\n"
                                        + "other@example.com,Other,,,true\n"))

    assert Person.objects.get(email="dev@example.com").is_active
    assert AuditEvent.objects.filter(action="person.reactivate", object_id=str(dev.pk)).count() == 1
    assert client.get(reverse("overview")).status_code == 302  # signed out for good
    refused_again = api.get("/api/v1/keys/")
    assert refused_again.status_code == 401 and "revoked" in refused_again.json()["detail"]
    assert other_client.get(reverse("overview")).status_code == 200  # nobody else signed out
