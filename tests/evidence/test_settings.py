"""The trail settings refuse values that would read the wrong keys or prune the window."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.KEYLEDGER_TRAIL_PREFIX, "
                               "s.KEYLEDGER_EVIDENCE_DAYS, s.KEYLEDGER_EVIDENCE_RETENTION_DAYS)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "true", "KEYLEDGER_VAR_DIR": "/tmp", **env})


def test_defaults_read_the_standard_prefix_over_thirty_days():
    result = load_settings()
    assert result.stdout.split() == ["AWSLogs/", "30", "400"], result.stderr


@pytest.mark.parametrize(("env", "says"), [
    ({"KEYLEDGER_TRAIL_PREFIX": "AWSLogs"}, "must end with /"),
    ({"KEYLEDGER_EVIDENCE_DAYS": "60", "KEYLEDGER_EVIDENCE_RETENTION_DAYS": "30"},
     "KEYLEDGER_EVIDENCE_RETENTION_DAYS=30 is below the minimum of 60"),
    ({"KEYLEDGER_TRAIL_BATCH_OBJECTS": "0"}, "below the minimum"),
])
def test_bad_trail_settings_stop_start_up(env, says):
    result = load_settings(**env)
    assert result.returncode != 0
    assert says in result.stderr
