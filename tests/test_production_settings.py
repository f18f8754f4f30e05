"""Production settings pass Django's deployment checks, log JSON lines; /health/ tells the truth."""

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse

from config.logging import JsonFormatter

ROOT = Path(__file__).resolve().parents[1]


def production_env(tmp_path, **extra) -> dict:
    return {
        "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-value-0123456789",
        "ALLOWED_HOSTS": "keyledger.example.com", "KEYLEDGER_VAR_DIR": str(tmp_path),
        "KEYLEDGER_BASE_URL": "https://keyledger.example.com", **extra,
    }


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_notification_links_would_reach_nobody(tmp_path):
    env = production_env(tmp_path)
    del env["KEYLEDGER_BASE_URL"]
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0 and "keyledger.W001" in result.stderr + result.stdout


def test_production_logs_are_one_json_object_per_line(tmp_path):
    script = ("import logging; logging.getLogger('keyledger.sync').info("
              "'sync %s succeeded', '111122223333', extra={'account_id': '111122223333'})")
    result = manage(production_env(tmp_path), "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(text) for text in result.stderr.splitlines() if text.strip()]
    assert line["level"] == "INFO" and line["logger"] == "keyledger.sync"
    assert line["message"] == "sync 111122223333 succeeded"
    assert line["account_id"] == "111122223333" and line["time"].endswith("+00:00")


@pytest.fixture
def json_log():
    """What Keyledger's loggers write, through the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("keyledger")
    logger.addHandler(handler)
    previous, logger.level = logger.level, logging.INFO
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.level = previous


@pytest.mark.django_db
def test_each_governance_decision_is_one_log_line_after_it_commits(
        json_log, django_capture_on_commit_callbacks):
    from core.audit import audit
    from tests.factories import PersonFactory

    actor = PersonFactory(email="decider@example.com")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = audit(actor=actor, action="exception.approve", object_type="ExceptionRequest",
                      object_id="7", summary="approved the exception for UNUSED on AKIA1")
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        audit(actor=actor, action="exception.reject", object_id="8", summary="rolled back")
        raise RuntimeError

    [line] = [entry for entry in json_log() if entry["logger"] == "keyledger.audit"]
    assert line["event"] == "governance_decision" and line["action"] == "exception.approve"
    assert line["actor"] == "decider@example.com" and line["object_id"] == "7"
    assert line["audit_event_id"] == event.pk and "UNUSED on AKIA1" in line["message"]


@pytest.mark.django_db
def test_each_sync_run_is_one_log_line(json_log, aws, register_account):
    from governance.sync import sync_account

    sync_account(account=register_account("222222222222"))

    lines = [entry for entry in json_log() if entry["logger"] == "keyledger.sync"]
    assert len(lines) == 1 and "222222222222 succeeded" in lines[0]["message"]
    line = lines[0]
    assert line["event"] == "sync_run" and line["account_id"] == "222222222222"
    assert line["status"] == "succeeded" and line["aws_calls"] > 0 and line["seconds"] >= 0


@pytest.mark.django_db
def test_health_answers_a_load_balancer_that_addresses_the_instance_by_ip(client, settings):
    settings.ALLOWED_HOSTS = ["keyledger.example.com"]
    assert client.get("/health/", HTTP_HOST="10.0.3.7:8000").status_code == 200
    assert client.get(reverse("login"), HTTP_HOST="10.0.3.7:8000").status_code == 400


@pytest.mark.django_db
def test_health_reports_database_and_broker(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_says_unhealthy_when_the_broker_is_gone(client, settings):
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get(reverse("health"))
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503 and response.json()["broker"].startswith("error")
