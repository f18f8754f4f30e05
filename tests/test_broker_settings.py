"""The broker's visibility timeout: how long a dead worker's task waits before redelivery."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

VARIABLES = ("KEYLEDGER_SYNC_LOCK_SECONDS", "KEYLEDGER_BROKER_VISIBILITY_SECONDS")
SETTINGS = Path(__file__).resolve().parents[1] / "config" / "settings.py"


def settings_with(monkeypatch, **env) -> dict:
    """config/settings.py read afresh with these variables (the others as the tests run)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS), run_name="config.settings_under_test")


@pytest.mark.parametrize("env, seconds", [
    ({}, 960),  # the sync lock's 900 s and a minute
    ({"KEYLEDGER_SYNC_LOCK_SECONDS": "1800"}, 1860),
    ({"KEYLEDGER_SYNC_LOCK_SECONDS": "60"}, 660),  # the longest retry delay, 600 s, is longer
    ({"KEYLEDGER_BROKER_VISIBILITY_SECONDS": "7200"}, 7200),
])
def test_visibility_timeout_outlasts_the_sync_lock(monkeypatch, env, seconds):
    settings = settings_with(monkeypatch, **env)

    assert settings["KEYLEDGER_BROKER_VISIBILITY_SECONDS"] == seconds
    assert settings["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": seconds}


@pytest.mark.parametrize("env", [
    {"KEYLEDGER_BROKER_VISIBILITY_SECONDS": "10"},
    {"KEYLEDGER_BROKER_VISIBILITY_SECONDS": "960", "KEYLEDGER_SYNC_LOCK_SECONDS": "1800"},
    {"KEYLEDGER_BROKER_VISIBILITY_SECONDS": "300", "KEYLEDGER_SYNC_LOCK_SECONDS": "60"},
])
def test_visibility_timeout_shorter_than_the_lock_or_a_retry_delay_stops_start_up(
        monkeypatch, env):
    with pytest.raises(ImproperlyConfigured, match="KEYLEDGER_BROKER_VISIBILITY_SECONDS="
                       f"{env['KEYLEDGER_BROKER_VISIBILITY_SECONDS']} is shorter than"):
        settings_with(monkeypatch, **env)
