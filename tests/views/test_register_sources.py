"""The registration form's declared sources: validated (each bad entry named with why),
stored canonical, pre-filled from CloudTrail's addresses, and beside them the Deny guard and
the least-privilege policy with the analyser's verdict. The service and the API take the
same list."""

import json

import pytest
from django.urls import reverse

from core.errors import GovernanceError
from evidence.models import KeyUsageAddress
from governance.models import AuditEvent, Registration
from governance.services.keys import RegistrationInput, purpose_register
from tests.evidence.usage_helpers import day_ago, declare, moment, seen_from, used
from tests.factories import AccessKeyFactory

pytestmark = pytest.mark.django_db

REGISTRATION = dict(
    category="ci_cd", runs_where="GitHub Actions, org acme", justification="deploys the site",
    why_not_iam_role="runs outside AWS", why_not_identity_center="not a person",
    why_not_sts="the runner cannot present a certificate for Roles Anywhere",
    source_restriction="", rotation_procedure="monthly, scripted",
    deactivation_contact="platform on-call",
)
ENDPOINT = "vpce-0123456789abcdef0"


@pytest.fixture
def key(people):
    return AccessKeyFactory(owner=people["owner"], evaluated=True)


def page(client, people, key, data=None):
    client.force_login(people["owner"])
    url = reverse("key-register", args=[key.pk])
    return client.post(url, data) if data is not None else client.get(url)


def current(key) -> Registration:
    return Registration.objects.get(key=key, superseded_at__isnull=True)


def test_declared_sources_are_stored_canonical_and_fill_the_notes(client, people, key):
    response = page(client, people, key, {
        **REGISTRATION, "declared_sources": f"203.0.113.0/24, 10.0.0.7\n{ENDPOINT.upper()}\n"
                                            "203.0.113.0/24"})
    assert response.status_code == 302
    registration = current(key)
    assert registration.declared_sources == ["203.0.113.0/24", "10.0.0.7/32", ENDPOINT]
    assert registration.source_restriction == f"203.0.113.0/24, 10.0.0.7/32, {ENDPOINT}"
    event = AuditEvent.objects.filter(action="key.register_purpose").latest("at")
    assert event.after["declared_sources"] == registration.declared_sources


def test_each_bad_entry_is_named_with_why(client, people, key):
    response = page(client, people, key, {
        **REGISTRATION, "declared_sources": "10.0.0.1/8\n203.0.113.0/24\nvpc-12\n0.0.0.0/0"})
    assert response.status_code == 400
    errors = response.context["form"].errors["declared_sources"]
    assert errors == [
        "'10.0.0.1/8': the address has bits set beyond the prefix; did you mean 10.0.0.0/8?",
        "'vpc-12' is not a CIDR (203.0.113.0/24), a VPC id (vpc-…) or a VPC endpoint id "
        "(vpce-…)",
        "'0.0.0.0/0' is every address: it confines nothing"]
    body = response.content.decode()
    assert "did you mean 10.0.0.0/8?" in body and "&#x27;vpc-12&#x27; is not a CIDR" in body
    assert not Registration.objects.filter(key=key).exists()


def test_nothing_declared_needs_a_note_saying_why(client, people, key):
    response = page(client, people, key, {**REGISTRATION, "declared_sources": ""})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["declared_sources"]
    assert "say in the notes why it cannot be confined" in response.content.decode()

    notes = "a SaaS vendor calls from addresses it does not publish"
    response = page(client, people, key, {**REGISTRATION, "source_restriction": notes})
    assert response.status_code == 302
    assert (current(key).declared_sources, current(key).source_restriction) == ([], notes)


def test_the_form_is_prefilled_from_cloudtrail_when_nothing_is_declared(client, people, key):
    seen_from(key, day_ago(1), "198.51.100.7", events=3)
    seen_from(key, day_ago(0), "198.51.100.7", events=3)
    seen_from(key, day_ago(2), "2001:db8::5", events=9)
    seen_from(key, day_ago(0), "s3.amazonaws.com", via_aws_service=True)
    seen_from(key, day_ago(0), "192.0.2.50", via_aws_service=True)
    KeyUsageAddress.objects.create(
        access_key_id=key.access_key_id, day=day_ago(0), address="10.0.4.7", events=1,
        first_seen=moment(day_ago(0)), last_seen=moment(day_ago(0)), vpc_endpoint_id=ENDPOINT)
    seen_from(key, day_ago(45), "192.0.2.99")  # outside the window

    response = page(client, people, key)

    assert response.status_code == 200
    form = response.context["form"]
    assert form["declared_sources"].value() == f"2001:db8::5/128\n198.51.100.7/32\n{ENDPOINT}"
    body = response.content.decode()
    assert "Pre-filled with the 3 addresses observed in CloudTrail in the last 30 days" in body


def test_declared_sources_are_not_replaced_by_the_evidence(client, people, key):
    declare(key, "203.0.113.0/24")
    seen_from(key, day_ago(0), "198.51.100.7")
    response = page(client, people, key)
    assert response.context["form"]["declared_sources"].value() == "203.0.113.0/24"
    assert "sources-prefilled" not in response.content.decode()


def test_the_guard_and_the_least_privilege_policy_are_shown_with_their_verdict(
        client, people, key):
    used(key, day_ago(0), actions={"s3:GetObject": 5, "s3:PutObject": 2})
    used(key, day_ago(3), actions={"sqs:SendMessage": 1, "(other)": 4})
    used(key, day_ago(40), actions={"iam:CreateUser": 1})  # outside the window
    declare(key, "203.0.113.0/24", ENDPOINT)

    context = page(client, people, key).context

    guard = json.loads(context["guard_json"])
    assert guard["Effect"] == "Deny"
    assert guard["Condition"]["NotIpAddress"] == {"aws:SourceIp": ["203.0.113.0/24"]}
    assert guard["Condition"]["StringNotEqualsIfExists"] == {"aws:SourceVpce": [ENDPOINT]}
    policy = json.loads(context["policy_json"])
    allowed = sorted(a for st in policy["Statement"] if st["Effect"] == "Allow"
                     for a in st["Action"])
    assert allowed == ["s3:GetObject", "s3:PutObject", "sqs:SendMessage"]
    assert policy["Statement"][-1] == guard
    assert context["verdict"]["source_restricted"] is True
    assert context["verdict"]["admin"] is False
    body = page(client, people, key).content.decode()
    assert "Source-restricted</dt><dd>yes:" in body
    assert "Admin (* on *)</dt><dd>no:" in body
    assert "Left out (not an IAM action name): <span class=\"mono\">(other)</span>" in body
    assert "Narrow each statement to the ARNs the workload uses" in body


def test_the_guard_follows_what_was_typed_when_the_form_comes_back(client, people, key):
    response = page(client, people, key, {
        **REGISTRATION, "runs_where": "", "declared_sources": "192.0.2.0/24\nbad"})
    assert response.status_code == 400
    guard = json.loads(response.context["guard_json"])
    assert guard["Condition"]["NotIpAddress"] == {"aws:SourceIp": ["192.0.2.0/24"]}


def test_without_evidence_or_sources_the_page_says_so(client, people, key):
    body = page(client, people, key).content.decode()
    assert 'id="suggested-guard-empty"' in body
    assert "No CloudTrail evidence of this key's calls in the last 30 days" in body


def test_aws_strings_in_the_suggestion_are_escaped(client, people, key):
    used(key, day_ago(0), actions={"s3:<script>alert(1)</script>": 1, "s3:GetObject": 1})
    body = page(client, people, key).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_the_service_refuses_bad_sources_and_keeps_old_registrations_working(people, key):
    with pytest.raises(GovernanceError, match="declared sources: 'nope' is not a CIDR"):
        purpose_register(actor=people["owner"], key=key, data=RegistrationInput(
            **{**REGISTRATION, "source_restriction": "x"}, declared_sources=["nope"]))
    with pytest.raises(GovernanceError, match="required: source restriction"):
        purpose_register(actor=people["owner"], key=key, data=RegistrationInput(**REGISTRATION))
    old_style = purpose_register(actor=people["owner"], key=key, data=RegistrationInput(
        **{**REGISTRATION, "source_restriction": "office range"}))
    assert (old_style.source_restriction, old_style.declared_sources) == ("office range", [])


def test_narrowing_the_sources_opens_unexpected_source_at_once(people, key,
                                                               django_capture_on_commit_callbacks):
    seen_from(key, day_ago(0), "198.51.100.7")
    purpose_register(actor=people["owner"], key=key, data=RegistrationInput(
        **REGISTRATION, declared_sources=["198.51.100.0/24"]))
    assert "UNEXPECTED_SOURCE" not in key.open_code_list
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        purpose_register(actor=people["owner"], key=key, data=RegistrationInput(
            **REGISTRATION, declared_sources=["203.0.113.0/24"]))
    key.refresh_from_db()
    assert "UNEXPECTED_SOURCE" in key.open_code_list
    assert callbacks  # the opened finding is announced once the registration commits


def test_the_api_takes_and_shows_declared_sources(client, people, key):
    client.force_login(people["owner"])
    url = f"/api/v1/keys/{key.pk}/registration/"
    bad = client.post(url, {**REGISTRATION, "declared_sources": ["10.0.0.1/8"]},
                      content_type="application/json")
    assert bad.status_code == 400
    assert "did you mean 10.0.0.0/8?" in json.dumps(bad.json())
    response = client.post(url, {**REGISTRATION, "declared_sources": ["10.0.0.7", ENDPOINT]},
                           content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["declared_sources"] == ["10.0.0.7/32", ENDPOINT]
    detail = client.get(f"/api/v1/keys/{key.pk}/").json()
    assert detail["registration"]["declared_sources"] == ["10.0.0.7/32", ENDPOINT]
