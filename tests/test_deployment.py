"""The compose file cannot be run here (no Docker engine), so prove it refers to real things."""

import importlib
import json
import re
import runpy
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def manage_py_commands(command: list[str]) -> list[str]:
    """The ``manage.py`` subcommands a compose command runs, in order (``sh -c "a && b"``
    included)."""
    if command[:2] == ["sh", "-c"]:
        steps = [step.split() for step in command[2].split("&&")]
    else:
        steps = [command]
    assert all(step[:2] == ["python", "manage.py"] for step in steps), command
    return [step[2] for step in steps]


def test_compose_services_commands_exist():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    assert manage_py_commands(services["migrate"]["command"])[0] == "migrate"
    assert set(manage_py_commands(services["migrate"]["command"])) <= set(get_commands())
    module, attribute = services["web"]["command"][-1].split(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"]
        assert importlib.import_module("config").celery_app.main == "keyledger"
    assert "sync" in services["worker"]["command"][services["worker"]["command"].index("-Q") + 1]
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["build"] == "."
    assert (ROOT / "Dockerfile").exists() and (ROOT / ".env.example").exists()


def test_image_compose_and_load_benchmark_serve_with_the_one_gunicorn_config():
    """One gunicorn configuration, so the load benchmark measures what is deployed; its
    keep-alive outlasts the benchmark's think time (a shorter one dropped connections)."""
    from bench.load import GUNICORN

    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread" and config["threads"] >= 2
    assert config["keep_alive"] >= 10  # people pause 1-3 s between pages (bench/locustfile)
    web = compose()["services"]["web"]["command"]
    image = json.loads(re.search(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(), re.M)[1])
    for command in (web, image, ["gunicorn", *GUNICORN]):
        assert command[command.index("-c") + 1] == "config/gunicorn.conf.py", command


def test_compose_workers_consume_every_queue_tasks_are_routed_to():
    from django.conf import settings

    worker = compose()["services"]["worker"]["command"]
    queues = set(worker[worker.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    default = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    assert routed | {default} <= queues


def test_compose_dependencies_and_health_checks_point_at_real_things():
    from django.urls import resolve

    services = compose()["services"]
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    health_path = re.search(r"http://127\.0\.0\.1:8000(/\S*?)'", web_check).group(1)
    assert resolve(health_path).url_name == "health"
    assert "8000" in runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["bind"]
    assert "celery -A config inspect ping" in services["worker"]["healthcheck"]["test"][1]
    assert services["migrate"]["restart"] == "no"
    assert "beat" not in compose()["services"]["worker"]["command"]  # exactly one beat


def test_dockerfile_builds_from_the_lock_with_what_the_commands_need():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile and "COPY pyproject.toml uv.lock" in dockerfile
    assert "collectstatic" in dockerfile and "USER keyledger" in dockerfile
    lock = (ROOT / "uv.lock").read_text()
    for package in ("gunicorn", "celery", "whitenoise", "psycopg", "django-celery-beat"):
        assert f'name = "{package}"' in lock, package
    python = re.search(r"FROM python:(\d+\.\d+)", dockerfile).group(1)
    assert f">={python}" in (ROOT / "pyproject.toml").read_text()


def settings_variables() -> set[str]:
    """Every environment variable config/settings.py reads through the env helpers."""
    source = (ROOT / "config/settings.py").read_text()
    return set(re.findall(r"(?:env_\w+|_http_url)\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def test_env_example_lists_every_variable_the_settings_read():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(),
                            re.MULTILINE))
    read = settings_variables()
    assert {"SECRET_KEY", "KEYLEDGER_BASE_URL", "EMAIL_HOST", "KEYLEDGER_CHAT_WEBHOOK_URL",
            "KEYLEDGER_EMAIL_BACKEND", "KEYLEDGER_LOG_FORMAT"} <= read  # the scan works
    assert read - listed == set()


def test_the_app_and_the_migrate_step_connect_as_two_roles():
    """Web, worker and beat connect as the app role (audit log append-only); only the
    one-shot migrate step has the owner, and it creates the app role after migrating."""
    services = compose()["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    app_urls = {name: urlsplit(services[name]["environment"]["DATABASE_URL"])
                for name in ("web", "worker", "beat", "migrate")}
    roles = {url.username for url in app_urls.values()}
    assert len(roles) == 1 and owner not in roles, roles
    for name in ("web", "worker", "beat"):
        assert "MIGRATE_DATABASE_URL" not in services[name]["environment"], name
    migrate = urlsplit(services["migrate"]["environment"]["MIGRATE_DATABASE_URL"])
    assert migrate.username == owner
    assert {(u.hostname, u.port, u.path) for u in [migrate, *app_urls.values()]} == {
        ("postgres", 5432, "/" + services["postgres"]["environment"]["POSTGRES_DB"])}
    assert manage_py_commands(services["migrate"]["command"]) == ["migrate", "setup_app_role"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name


def test_env_example_lists_the_two_database_urls_and_every_compose_variable():
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    substituted = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml")
                                 .read_text()))
    assert {"POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD"} <= substituted
    assert substituted | {"DATABASE_URL", "MIGRATE_DATABASE_URL"} <= listed
    app = re.search(r"^# DATABASE_URL=(\S+)", example, re.MULTILINE)[1]
    owner = re.search(r"^# MIGRATE_DATABASE_URL=(\S+)", example, re.MULTILINE)[1]
    assert urlsplit(app).username != urlsplit(owner).username
    assert urlsplit(app).path == urlsplit(owner).path


def test_the_image_bakes_in_no_database_role():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^\s*(ENV|ARG)\b.*DATABASE_URL", dockerfile, re.MULTILINE)
    command = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M)[1])
    assert "migrate" not in command  # the image's default is the web app, never the owner


def test_compose_holds_no_aws_keys():
    text = (ROOT / "docker-compose.yml").read_text() + (ROOT / ".env.example").read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text


def test_reader_policy_and_template_grant_the_same_read_only_actions():
    policy = json.loads((ROOT / "deploy/aws/keyledger-reader-policy.json").read_text())
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    template = yaml.load((ROOT / "deploy/aws/keyledger-reader.cfn.yaml").read_text(),
                         Loader=_cfn_loader())
    role = template["Resources"]["KeyledgerReaderRole"]["Properties"]
    template_actions = {a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]
                        for a in s["Action"]}
    assert actions == template_actions
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Generate")) for a in actions)
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert "sts:ExternalId" in trust["Condition"]["StringEquals"]


def _cfn_loader():
    """A YAML loader that accepts CloudFormation's short-form tags (!Ref, !GetAtt)."""

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader, suffix, node):
        return {suffix: loader.construct_scalar(node)}

    Loader.add_multi_constructor("!", tag)
    return Loader


def test_the_image_build_collects_static_files_with_the_production_storage(tmp_path):
    """The Dockerfile's collectstatic step, as it runs there: the manifest storage refuses a
    reference to a missing file (a vendored script's source map did exactly that)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "false", "SECRET_KEY": "build-only",
           "KEYLEDGER_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert "vendor/chartjs/chart.umd.min.js" in manifest["paths"]
