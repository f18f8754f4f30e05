"""Issue 17's journey in real Chromium on the demo organization: an owner follows the way out
of their console user's key (Identity Center already gives them a permission set on that
account) to a migration plan, deactivates and deletes the key in AWS (moto, through boto3 as
they would), and the next sync closes the plan and the burn-down counts one active key less.
"""

import io

from django.core.management import call_command
from django.urls import reverse

from governance.models import AccessKey, AuditEvent
from reduction.models import MigrationPlan
from tests.conftest import account_clients

from .test_burndown import table_weeks
from .test_journeys import OWNER
from .test_pages import serious_violations


def active_this_week(session) -> int:
    """The owner's active keys now, as the last row of their burn-down table shows."""
    session.goto(reverse("burn-down"))
    return table_weeks(session.page)[-1][1]


def sync(account_id: str) -> None:
    out = io.StringIO()
    call_command("sync_accounts", account_id, stdout=out)
    assert "failed" not in out.getvalue().lower(), out.getvalue()


def test_an_owner_follows_the_way_out_to_a_plan_that_the_sync_closes(demo, sign_in):
    key = AccessKey.objects.select_related("account").get(
        user__name="chen.wei", account__name="dev", removed_at__isnull=True)
    assert key.status == "Active" and key.owner.email == OWNER
    assert key.findings.filter(code="HUMAN_USER_KEY", resolved_at__isnull=True).exists()
    dev = key.account.account_id
    owner = sign_in(OWNER)
    before = active_this_week(owner)

    # My keys: the key's way out, followed to its page.
    owner.goto(reverse("my-keys"))
    row = owner.page.locator(f'#my-keys tr[data-key="{key.access_key_id}"]')
    assert "IAM Identity Center" in row.get_by_test_id("way-out").inner_text()
    row.get_by_role("link", name="Your way out").click()
    owner.page.wait_for_url(f"**{reverse('key-detail', args=[key.pk])}#way-out")
    evidence = owner.page.get_by_test_id("way-out-evidence").inner_text()
    assert (f"You already have the ReadOnly permission set on dev ({dev}) through Identity "
            "Center: use aws sso login and deactivate this key.") in evidence
    assert owner.page.get_by_test_id("way-out-path").inner_text() == "IAM Identity Center"
    assert serious_violations(owner.page) == []

    # Plan the move: the recommended path is preselected.
    owner.page.get_by_role("button", name="Plan the move").click()
    owner.page.wait_for_url(f"**{reverse('plan-new', args=[key.pk])}")
    assert owner.page.locator("input[name=path][value=identity_center]").is_checked()
    assert serious_violations(owner.page) == []
    owner.page.fill("textarea[name=notes]", "aws sso login from now on")
    owner.page.get_by_role("button", name="Open the plan").click()
    plan = MigrationPlan.objects.get(key=key)
    owner.page.wait_for_url(f"**{reverse('plan-detail', args=[plan.pk])}")
    state = owner.page.get_by_test_id("plan-state")
    assert state.get_attribute("data-state") == "planned"
    owner.page.get_by_role("button", name="Mark in progress").click()
    owner.page.wait_for_load_state()
    assert state.get_attribute("data-state") == "in_progress"

    # Replaced is refused while the inventory has the key active.
    owner.page.get_by_role("button", name="Mark replaced (key deactivated)").click()
    owner.page.wait_for_load_state()
    assert "deactivate the key in AWS first" in owner.page.inner_text("body")
    assert state.get_attribute("data-state") == "in_progress"

    # The owner deactivates the key in AWS; the sync sees it; now the plan can say replaced.
    iam = account_clients(dev).client("iam")
    iam.update_access_key(UserName="chen.wei", AccessKeyId=key.access_key_id,
                          Status="Inactive")
    sync(dev)
    owner.page.reload()
    owner.page.get_by_role("button", name="Mark replaced (key deactivated)").click()
    owner.page.wait_for_load_state()
    assert state.get_attribute("data-state") == "replaced"
    assert owner.page.get_by_role("button", name="Mark done").count() == 0  # AWS decides

    # The owner deletes the key; the next sync closes the plan.
    iam.delete_access_key(UserName="chen.wei", AccessKeyId=key.access_key_id)
    sync(dev)
    owner.page.reload()
    assert state.get_attribute("data-state") == "done"
    plan.refresh_from_db()
    assert plan.state == "done" and plan.done_at is not None
    assert list(AuditEvent.objects.filter(object_type="MigrationPlan", object_id=str(plan.pk))
                .order_by("at", "id").values_list("action", "actor_label")) == [
        ("plan.open", OWNER), ("plan.advance", OWNER), ("plan.advance", OWNER),
        ("plan.done", "system")]
    owner.shoot("way-out-plan-done")
    assert serious_violations(owner.page) == []
    owner.goto(reverse("plans") + "?state=done")
    done = [row.get_attribute("data-plan") for row in owner.page.locator("tr[data-plan]").all()]
    assert done == [str(plan.pk)]
    assert serious_violations(owner.page) == []

    owner.goto(reverse("key-detail", args=[key.pk]))
    assert owner.page.get_by_test_id("way-out-plan").get_by_test_id(
        "plan-state").inner_text() == "Done (key deleted)"
    assert active_this_week(owner) == before - 1
    assert owner.problems == [] and owner.dialogs == []
