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


def settings_in_a_new_process(tmp_path, expression: str, **environment):
    """``expression`` evaluated on config.settings in a fresh interpreter: (status, out, err)."""
    import subprocess
    import sys
    from pathlib import Path

    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin",
           "KEYLEDGER_VAR_DIR": str(tmp_path), "SECRET_KEY": "tests-only", **environment}
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings as s; print({expression})"],
        env=env, capture_output=True, text=True, cwd=str(Path(__file__).parents[1]))
    return result.returncode, result.stdout.strip(), result.stderr


def test_the_migrate_step_connects_as_the_owner_and_knows_the_app_role(tmp_path):
    expression = 's.DATABASES["default"]["USER"], s.KEYLEDGER_APP_DATABASE["USER"]'
    app = "postgres://keyledger_app:a@db:5432/keyledger"
    status, out, err = settings_in_a_new_process(tmp_path, expression, DATABASE_URL=app)
    assert (status, out) == (0, "keyledger_app keyledger_app"), err
    status, out, err = settings_in_a_new_process(
        tmp_path, expression, DATABASE_URL=app,
        MIGRATE_DATABASE_URL="postgres://keyledger:o@db:5432/keyledger")
    assert (status, out) == (0, "keyledger keyledger_app"), err


@pytest.mark.parametrize("environment, message", [
    ({"MIGRATE_DATABASE_URL": "postgres://keyledger:o@db:5432/keyledger"},
     "MIGRATE_DATABASE_URL is set but DATABASE_URL is not"),
    ({"MIGRATE_DATABASE_URL": "postgres://keyledger:o@db:5432/other",
      "DATABASE_URL": "postgres://keyledger_app:a@db:5432/keyledger"},
     "must name the same database"),
])
def test_a_migrate_database_url_that_does_not_fit_stops_start_up(tmp_path, environment,
                                                                   message):
    status, _out, err = settings_in_a_new_process(tmp_path, "s.DEBUG", **environment)
    assert status != 0 and message in err


def test_the_audit_sink_is_off_unless_set_and_reads_its_settings(tmp_path):
    expression = "repr((s.KEYLEDGER_AUDIT_SINK, s.KEYLEDGER_AUDIT_SINK_RETENTION_DAYS))"
    assert settings_in_a_new_process(tmp_path, expression)[:2] == (0, "('', 400)")
    status, out, err = settings_in_a_new_process(
        tmp_path, expression, KEYLEDGER_AUDIT_SINK="s3", KEYLEDGER_AUDIT_SINK_BUCKET="archive",
        KEYLEDGER_AUDIT_SINK_RETENTION_DAYS="2555")
    assert (status, out) == (0, "('s3', 2555)"), err


@pytest.mark.parametrize("environment, message", [
    ({"KEYLEDGER_AUDIT_SINK": "kafka"}, "KEYLEDGER_AUDIT_SINK='kafka' must be one of"),
    ({"KEYLEDGER_AUDIT_SINK": "s3"}, "KEYLEDGER_AUDIT_SINK=s3 needs KEYLEDGER_AUDIT_SINK_BUCKET"),
    ({"KEYLEDGER_AUDIT_SINK_BUCKET": "archive"}, "set it to s3"),
    ({"KEYLEDGER_AUDIT_SINK": "s3", "KEYLEDGER_AUDIT_SINK_BUCKET": "archive",
      "KEYLEDGER_AUDIT_SINK_LOCK_MODE": "LEGAL_HOLD"}, "KEYLEDGER_AUDIT_SINK_LOCK_MODE"),
    ({"KEYLEDGER_AUDIT_SINK": "s3", "KEYLEDGER_AUDIT_SINK_BUCKET": "archive",
      "KEYLEDGER_AUDIT_SINK_RETENTION_DAYS": "0"}, "KEYLEDGER_AUDIT_SINK_RETENTION_DAYS=0"),
    ({"KEYLEDGER_AUDIT_SINK": "syslog"}, "must be tcp://HOST:PORT"),
    ({"KEYLEDGER_AUDIT_SINK": "syslog", "KEYLEDGER_AUDIT_SINK_SYSLOG": "udp://logs:514"},
     "UDP would lose events"),
    ({"KEYLEDGER_AUDIT_SINK": "syslog", "KEYLEDGER_AUDIT_SINK_SYSLOG": "tcp://logs:port"},
     "must be tcp://HOST:PORT"),
    ({"KEYLEDGER_AUDIT_SINK_SYSLOG": "tcp://logs:514"}, "set it to syslog"),
])
def test_a_bad_audit_sink_setting_stops_start_up(tmp_path, environment, message):
    status, _out, err = settings_in_a_new_process(tmp_path, "s.DEBUG", **environment)
    assert status != 0 and message in err, err[-500:]
