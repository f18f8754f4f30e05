"""Loops that close, in a real browser on the demo organization (issue 14):

1. An owner requests an exception; their manager is mailed at once, decides on the decision
   page (the key's other findings, permissions and last use beside two separate forms); the
   owner is mailed the decision.
2. Ivan Moreau left: his keys wait in his manager's queue, who gives one to someone else.
3. The security team ticks several keys on the gaps page and assigns them one owner at once.

And each new page passes axe-core with no serious or critical violation.
"""

from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from governance.models import AccessKey, AuditEvent, ExceptionRequest
from notifications.models import Kind, Notification

from .test_pages import assert_accessible, serious_violations

SECURITY = "priya.raman@example.com"
OWNER = "chen.wei@example.com"  # reports to Marcus Lee
MANAGER = "marcus.lee@example.com"
LEAVER = "ivan.moreau@example.com"  # inactive, reported to Marcus Lee
NEW_OWNER = "alice.nguyen@example.com"


def _path_of(url: str) -> str:
    """An e-mailed link as a path on the live server (mail links use KEYLEDGER_BASE_URL)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_request_notifies_the_approver_and_the_decision_notifies_the_requester(demo, sign_in):
    key = AccessKey.objects.get(user__name="ci-deploy-prod", status="Active")
    mail.outbox.clear()
    owner = sign_in(OWNER)
    owner.goto(reverse("exception-new", args=[key.pk]) + "?code=ROTATION_OVERDUE")
    owner.page.check("input[name=code][value=ROTATION_OVERDUE]")
    owner.page.fill("[name=justification]", "release freeze until the 30th")
    asked = timezone.localdate() + timedelta(days=20)
    owner.page.fill("[name=expires_on]", asked.isoformat())
    owner.page.get_by_role("button", name="Request exception").click()
    exception = ExceptionRequest.objects.get(key=key, code="ROTATION_OVERDUE")
    owner.page.wait_for_url(f"**{reverse('exception-detail', args=[exception.pk])}")

    # The manager is told at once: a notification row and a mail with the page's link.
    asked_row = Notification.objects.get(kind=Kind.EXCEPTION_REQUESTED)
    assert asked_row.recipient.email == MANAGER and asked_row.sent_at is not None
    [asked_mail] = [m for m in mail.outbox if m.to == [MANAGER]]
    assert asked.isoformat() in asked_mail.body and OWNER in asked_mail.subject

    manager = sign_in(MANAGER)
    manager.goto(_path_of(asked_row.url))
    context = manager.page.get_by_test_id("key-context")
    assert "Permissions" in context.inner_text() and "Last used" in context.inner_text()
    assert manager.page.get_by_test_id("approve-form").count() == 1
    assert manager.page.get_by_test_id("reject-form").count() == 1
    manager.shoot("exception-decision")
    assert serious_violations(manager.page) == []
    shorter = timezone.localdate() + timedelta(days=10)
    approve = manager.page.get_by_test_id("approve-form")
    approve.locator("[name=expires_on]").fill(shorter.isoformat())
    approve.get_by_role("button", name="Approve").click()
    manager.page.wait_for_url(f"**{reverse('exception-detail', args=[exception.pk])}")
    assert "Exception approved." in manager.page.inner_text("body")
    assert manager.page.get_by_test_id("expires").inner_text().startswith(shorter.isoformat())

    # The requester is told the decision, with the expiry the manager approved.
    decided = Notification.objects.get(kind=Kind.EXCEPTION_DECIDED)
    assert decided.recipient.email == OWNER and decided.period == "approved"
    assert shorter.isoformat() in decided.title
    owner.goto(_path_of(decided.url))
    assert owner.page.get_by_test_id("status").inner_text() == "Approved"
    for session in (owner, manager):
        assert session.problems == [] and session.dialogs == []


def test_a_leavers_keys_wait_for_their_manager_who_reassigns_one(demo, sign_in):
    manager = sign_in(MANAGER)
    manager.goto(reverse("my-team"))
    manager.page.get_by_test_id("leaver-link").click()
    manager.page.wait_for_url(f"**{reverse('leaver-keys')}")
    left_by = manager.page.get_by_test_id("left-by").all_inner_texts()
    assert left_by and set(left_by) == {LEAVER}
    manager.shoot("leaver-keys")
    row = manager.page.locator("tr[data-key]").first
    key = AccessKey.objects.get(access_key_id=row.get_attribute("data-key"))
    row.locator("input[name=owner]").fill(NEW_OWNER)
    row.get_by_role("button", name="Reassign").click()
    manager.page.wait_for_url(f"**{reverse('leaver-keys')}")
    assert f"{NEW_OWNER} now owns {key}." in manager.page.inner_text("body")
    assert manager.page.locator(f"tr[data-key='{key.access_key_id}']").count() == 0
    key.refresh_from_db()
    assert key.owner.email == NEW_OWNER
    event = AuditEvent.objects.get(action="key.assign_owner", object_id=str(key.pk))
    assert event.actor_label == MANAGER and LEAVER in event.before["owner_gap"]
    assert manager.problems == [] and manager.dialogs == []


def test_security_ticks_several_gaps_and_assigns_them_at_once(demo, sign_in):
    security = sign_in(SECURITY)
    security.goto(reverse("ownership-gaps") + "?gap=NO_OWNER")
    boxes = security.page.locator("input[name=keys]")
    assert boxes.count() >= 2
    picked = [boxes.nth(i).get_attribute("value") for i in range(2)]
    for i in range(2):
        boxes.nth(i).check()
    security.page.fill("input[name=owner]", NEW_OWNER)
    security.shoot("gaps-bulk-assign")
    security.page.get_by_test_id("assign-selected").click()
    security.page.wait_for_url("**/gaps/?gap=NO_OWNER")
    assert f"{NEW_OWNER} now owns 2 keys." in security.page.inner_text("body")
    owners = set(AccessKey.objects.filter(pk__in=picked).values_list("owner__email", flat=True))
    assert owners == {NEW_OWNER}
    assert AuditEvent.objects.filter(action="key.assign_owner",
                                     object_id__in=picked).count() == 2
    # The select-all box (a static script, CSP-safe) ticks every row of the page.
    security.page.locator("input[data-select-all]").check()
    assert security.page.locator("input[name=keys]:not(:checked)").count() == 0
    assert security.problems == [] and security.dialogs == []


def test_the_loop_pages_have_no_serious_accessibility_violation(demo, sign_in):
    chen = AccessKey.objects.filter(owner__email=OWNER).first().owner
    manager = sign_in(MANAGER)
    assert_accessible(manager, {
        "my-team": reverse("my-team"), "leaver-keys": reverse("leaver-keys"),
        "team-findings": reverse("team-findings", args=[chen.pk]),
    }, "manager")
    security = sign_in(SECURITY)
    assert_accessible(security, {"gaps-one-table": reverse("ownership-gaps")}, "security")
    for session in (manager, security):
        assert session.problems == [] and session.dialogs == []
