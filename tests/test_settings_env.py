"""Settings helpers stop with a clear message on bad values instead of guessing."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_database, env_int, env_list


def test_helpers_read_good_values(monkeypatch):
    monkeypatch.setenv("K_BOOL", "Yes")
    monkeypatch.setenv("K_INT", " 42 ")
    monkeypatch.setenv("K_LIST", "a, b ,,c")
    assert env_bool("K_BOOL", False) is True
    assert env_int("K_INT", 1, minimum=1) == 42
    assert env_list("K_LIST", []) == ["a", "b", "c"]
    assert env_int("K_UNSET", 7) == 7


@pytest.mark.parametrize("name, value, call, message", [
    ("K", "perhaps", lambda: env_bool("K", False), "K='perhaps' is not a boolean"),
    ("K", "ten", lambda: env_int("K", 1), "K='ten' is not a whole number"),
    ("K", "0", lambda: env_int("K", 1, minimum=5), "K=0 is below the minimum of 5"),
    ("K", "fast", lambda: env_choice("K", "standard", ("standard", "adaptive")), "must be one of"),
    ("DATABASE_URL", "nosuch://x", lambda: env_database("DATABASE_URL", "x.db"), "DATABASE_URL"),
])
def test_bad_values_stop_with_the_variable_named(monkeypatch, name, value, call, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace("[", r"\[")):
        call()


def test_database_url_unset_means_sqlite_and_set_means_postgres(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert env_database("DATABASE_URL", "/tmp/k.sqlite3")["ENGINE"].endswith("sqlite3")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/keyledger")
    config = env_database("DATABASE_URL", "/tmp/k.sqlite3")
    assert config["ENGINE"] == "django.db.backends.postgresql" and config["NAME"] == "keyledger"


def test_production_without_secret_key_refuses_to_start(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin",
             "KEYLEDGER_VAR_DIR": str(tmp_path), "DEBUG": "false"},
        capture_output=True, text=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]),
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
