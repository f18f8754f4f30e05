"""The key page's Usage panel: what CloudTrail shows the key did in the window."""

import pytest
from django.urls import reverse

from governance.models import AccessKey
from tests.evidence.usage_helpers import day_ago, declare, seen_from, trail_read_for, used
from tests.factories import AccessKeyFactory, IamUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def trail_configured(settings):
    settings.KEYLEDGER_TRAIL_BUCKET = "org-trail-logs"
    settings.KEYLEDGER_EVIDENCE_DAYS = 30


def page(client, person, key) -> str:
    client.force_login(person)
    response = client.get(reverse("key-detail", args=[key.pk]))
    assert response.status_code == 200
    return response.content.decode()


def panel(text: str) -> str:
    start = text.index('data-section="usage-evidence"')
    return text[start:text.index("</article>", start)]


def test_the_panel_shows_addresses_declared_or_not_as_text(client, people):
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    declare(key, "203.0.113.0/24")
    used(key, day_ago(2), events=12, errors=3, agents={"aws-cli/2.15": 12},
         sources={"s3.amazonaws.com": 12}, actions={"s3:PutObject": 12},
         regions={"eu-central-1": 12})
    seen_from(key, day_ago(2), "203.0.113.9", events=10)
    seen_from(key, day_ago(2), "198.51.100.77", events=2)
    seen_from(key, day_ago(2), "codebuild.amazonaws.com", via_aws_service=True)
    shown = panel(page(client, people["owner"], key))
    assert "Usage in the last 30 days" in shown
    assert "<strong>12</strong> events, <strong>3</strong> errors" in shown
    rows = shown.split("<tr")
    undeclared = next(r for r in rows if "198.51.100.77" in r)
    declared = next(r for r in rows if "203.0.113.9" in r)
    service = next(r for r in rows if "codebuild.amazonaws.com" in r)
    assert "✗ not declared" in undeclared and "data-undeclared" in undeclared
    assert "✓ declared" in declared and "data-undeclared" not in declared
    assert "an AWS service acting for the key" in service and "not judged" in service
    assert shown.index("198.51.100.77") < shown.index("203.0.113.9")  # undeclared first
    assert "1 undeclared address" in shown
    for value in ("aws-cli/2.15", "s3.amazonaws.com", "s3:PutObject", "eu-central-1"):
        assert value in shown
    assert shown.count("<rect ") == 30  # a bar per day of the window, drawn server-side


def test_a_hostile_user_agent_is_shown_as_text(client, people):
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    used(key, day_ago(1), agents={hostile: 1})
    seen_from(key, day_ago(1), '"><svg onload=alert(1)>')
    text = page(client, people["owner"], key)
    assert hostile not in text and "<svg onload" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in panel(text)


def test_a_possibly_shared_key_is_flagged_with_why(client, people, settings):
    settings.KEYLEDGER_SHARED_ADDRESSES_PER_DAY = 2
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    used(key, day_ago(3), events=3)
    for n in range(3):
        seen_from(key, day_ago(3), f"198.51.100.{n}")
    shown = panel(page(client, people["owner"], key))
    assert 'data-testid="usage-shared"' in shown and "Possibly shared" in shown
    assert f"{day_ago(3):%Y-%m-%d}: 3 addresses (more than 2)" in shown


def test_no_shared_flag_for_one_workload(client, people):
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    used(key, day_ago(3))
    seen_from(key, day_ago(3), "198.51.100.1")
    assert "usage-shared" not in panel(page(client, people["owner"], key))


def test_the_empty_state_says_why(client, people, settings):
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    settings.KEYLEDGER_TRAIL_BUCKET = ""
    assert "the trail is not configured" in panel(page(client, people["owner"], key))
    settings.KEYLEDGER_TRAIL_BUCKET = "org-trail-logs"
    assert "has not been read for this key&#x27;s account yet" in panel(
        page(client, people["owner"], key))
    trail_read_for(key.account.account_id)
    shown = panel(page(client, people["owner"], key))
    assert "No CloudTrail evidence for this key in the last 30 days." in shown
    assert "<rect " not in shown


def test_a_root_key_says_the_trail_cannot_attribute_it(client, people):
    user = IamUserFactory(name="<root_account>")
    root = AccessKey.objects.create(account=user.account, user=user, access_key_id=None,
                                    slot=1, status=AccessKey.Status.ACTIVE)
    assert "cannot be attributed to this key" in panel(page(client, people["security"], root))


def test_another_owners_key_page_and_its_usage_are_not_found(client, people):
    key = AccessKeyFactory(owner=people["owner"], evaluated=True)
    seen_from(key, day_ago(1), "198.51.100.99")
    client.force_login(people["other_owner"])
    response = client.get(reverse("key-detail", args=[key.pk]))
    assert response.status_code == 404
    assert b"198.51.100.99" not in response.content
