"""``import_people``: the people CSV of DESIGN.md, re-runnable, all-or-nothing."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Person

pytestmark = pytest.mark.django_db
HEADER = "email,name,manager_email,roles,active\n"


def write(tmp_path, text: str):
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


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
