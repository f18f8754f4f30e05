"""KEY_EXPOSED and PRIVILEGE_ESCALATION are public codes like the others: the API's filters and
schema enumerate them, and the API and the CSV export carry them in ``findings``."""

import csv
import io
import json

import pytest
from django.urls import reverse

from governance.aws.documents import document_digest
from governance.evaluation import evaluate_keys
from governance.models import PolicyDocument
from tests.factories import AccessKeyFactory, IamUserFactory

pytestmark = pytest.mark.django_db

QUARANTINED = [{"source": "user-attached", "name": "AWSCompromisedKeyQuarantineV2",
                "arn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2", "group": "",
                "digest": ""}]


@pytest.fixture
def exposed_and_climbing(people):
    """An exposed key and a key whose user may iam:PutUserPolicy on *, both of owner@."""
    climb = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}]}
    digest = document_digest(climb)
    PolicyDocument.objects.create(digest=digest, document=climb)
    exposed = AccessKeyFactory(user=IamUserFactory(tags={"owner": "owner@example.com"},
                                                   policies=QUARANTINED))
    climbing = AccessKeyFactory(user=IamUserFactory(
        tags={"owner": "owner@example.com"},
        policies=[{"source": "user-inline", "name": "ops", "arn": "", "group": "",
                   "digest": digest}]))
    evaluate_keys()
    return exposed, climbing


def test_the_schema_enumerates_both_codes_in_the_finding_filters(api, people):
    schema = json.loads(api(people["security"]).get("/api/v1/schema/?format=json").content)
    enums = [parameter["schema"].get("enum", [])
             for path in schema["paths"].values() for operation in path.values()
             for parameter in operation.get("parameters", []) if parameter["name"] == "code"]
    assert enums and all({"KEY_EXPOSED", "PRIVILEGE_ESCALATION"} <= set(e) for e in enums)


def test_findings_filter_and_key_rows_carry_the_codes(api, people, exposed_and_climbing):
    exposed, climbing = exposed_and_climbing
    client = api(people["owner"])

    found = client.get("/api/v1/findings/", {"code": "KEY_EXPOSED"}).json()
    escalations = client.get("/api/v1/findings/", {"code": "PRIVILEGE_ESCALATION"}).json()
    keys = {row["id"]: row for row in client.get("/api/v1/keys/").json()["results"]}

    assert [f["key"] for f in found["results"]] == [exposed.pk]
    assert found["results"][0]["severity"] == "critical"
    assert [f["key"] for f in escalations["results"]] == [climbing.pk]
    assert "KEY_EXPOSED" in keys[exposed.pk]["findings"]
    assert "PRIVILEGE_ESCALATION" in keys[climbing.pk]["findings"]


def test_the_csv_export_lists_the_codes_sorted_in_findings(client, people, exposed_and_climbing):
    exposed, climbing = exposed_and_climbing
    client.force_login(people["security"])

    response = client.get(reverse("inventory-export"))

    text = b"".join(response.streaming_content).decode()
    rows = {r["access_key_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for key, code in ((exposed, "KEY_EXPOSED"), (climbing, "PRIVILEGE_ESCALATION")):
        codes = rows[key.access_key_id]["findings"].split(";")
        assert code in codes and codes == sorted(codes)
        assert rows[key.access_key_id]["compliance"] == "non_compliant"
