"""The compose file cannot be run here (no Docker engine), so prove it refers to real things."""

import importlib
import json
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services_commands_exist():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    assert services["migrate"]["command"][:2] == ["python", "manage.py"]
    assert services["migrate"]["command"][2] in get_commands()
    module, attribute = services["web"]["command"][1].split(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"]
        assert importlib.import_module("config").celery_app.main == "keyledger"
    assert "sync" in services["worker"]["command"][services["worker"]["command"].index("-Q") + 1]
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["build"] == "."
    assert (ROOT / "Dockerfile").exists() and (ROOT / ".env.example").exists()


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
