"""The workflow pages as each persona uses them: my keys, gaps, rotation, purpose, exceptions."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.evaluation import evaluate_keys
from governance.models import AccessKey, ExceptionRequest, Finding, Registration
from governance.services.exceptions import exception_approve, exception_request
from governance.services.keys import RegistrationInput, purpose_register
from tests.factories import NOW, AccessKeyFactory, AccountFactory, IamUserFactory

pytestmark = pytest.mark.django_db

REGISTRATION = dict(
    category="ci_cd", runs_where="GitHub Actions, org acme", justification="deploys the site",
    why_not_iam_role="runs outside AWS", why_not_identity_center="not a person",
    why_not_sts="the runner cannot present a certificate for Roles Anywhere",
    source_restriction="GitHub runner IP ranges", rotation_procedure="monthly, scripted",
    deactivation_contact="platform on-call",
)



def make_key(tags=None, **fields) -> AccessKey:
    user = IamUserFactory(tags=tags or {}, account=fields.pop("account", None) or AccountFactory())
    key = AccessKeyFactory(user=user, **fields)
    evaluate_keys(keys=AccessKey.objects.filter(pk=key.pk))
    key.refresh_from_db()
    return key


def owned_key(email="owner@example.com", **fields) -> AccessKey:
    """An owner-tagged key, 200 days old: ROTATION_OVERDUE and NO_PURPOSE are open."""
    return AccessKeyFactory(owner=email, days_old=200, evaluated=True, **fields)


def open_codes(key: AccessKey) -> set[str]:
    return set(Finding.objects.filter(key=key, resolved_at__isnull=True)
               .values_list("code", flat=True))


def request_exception(person, key, code="ROTATION_OVERDUE") -> ExceptionRequest:
    return exception_request(actor=person, key=key, code=code, justification="release freeze",
                             expires_on=timezone.localdate() + timedelta(days=20))


def html(response) -> str:
    return response.content.decode()


# -- who gets what -------------------------------------------------------------------------

ALL = {"security": 200, "manager": 200, "owner": 200, "other_owner": 200}
OVERSEERS = {"security": 200, "manager": 200, "owner": 403, "other_owner": 403}
SEE_OWNERS_KEY = {"security": 200, "manager": 200, "owner": 200, "other_owner": 404}
ACT_ON_OWNERS_KEY = {"security": 200, "manager": 403, "owner": 200, "other_owner": 404}


@pytest.mark.parametrize("persona", ["security", "manager", "owner", "other_owner",
                                     "anonymous"])
def test_each_workflow_page_answers_each_persona(client, people, persona):
    key = owned_key()
    exception = request_exception(people["owner"], key)
    pages = [("my-keys", [], ALL), ("ownership-gaps", [], OVERSEERS),
             ("rotation", [], OVERSEERS), ("exceptions", [], ALL),
             ("key-register", [key.pk], ACT_ON_OWNERS_KEY),
             ("exception-new", [key.pk], ACT_ON_OWNERS_KEY),
             ("exception-detail", [exception.pk], SEE_OWNERS_KEY)]
    if persona != "anonymous":
        client.force_login(people[persona])
    for name, args, expected in pages:
        response = client.get(reverse(name, args=args))
        if persona == "anonymous":
            assert response.status_code == 302 and response.url.startswith(reverse("login"))
        else:
            assert response.status_code == expected[persona], name


# -- my keys -------------------------------------------------------------------------------

def test_my_keys_lists_the_owners_keys_and_what_each_needs(client, people):
    key = owned_key()
    client.force_login(people["owner"])
    page = html(client.get(reverse("my-keys")))
    assert key.access_key_id in page
    assert reverse("key-register", args=[key.pk]) in page
    assert f"{reverse('exception-new', args=[key.pk])}?code=ROTATION_OVERDUE" in page
    assert "Rotate it" in page and "Non-compliant" in page
    assert "Your reports' keys" not in page


def test_a_manager_sees_reports_keys_in_their_own_section(client, people):
    key = owned_key()
    client.force_login(people["manager"])
    page = html(client.get(reverse("my-keys")))
    mine, reports = page.split("Your reports' keys")
    assert key.access_key_id not in mine and key.access_key_id in reports
    assert "owner@example.com" in reports
    assert reverse("key-register", args=[key.pk]) not in page  # the owner acts, not the manager


def test_my_keys_says_so_when_the_person_owns_nothing(client, people):
    owned_key()
    client.force_login(people["other_owner"])
    page = html(client.get(reverse("my-keys")))
    assert "You own no access keys" in page and "AKIA" not in page


def test_a_pending_exception_replaces_the_request_link(client, people):
    key = owned_key()
    exception = request_exception(people["owner"], key)
    client.force_login(people["owner"])
    page = html(client.get(reverse("my-keys")))
    assert reverse("exception-detail", args=[exception.pk]) in page
    assert "?code=ROTATION_OVERDUE" not in page


# -- purpose registration ------------------------------------------------------------------

def test_owner_registers_a_purpose_and_no_purpose_resolves(client, people):
    key = owned_key()
    assert "NO_PURPOSE" in open_codes(key)
    client.force_login(people["owner"])
    response = client.post(reverse("key-register", args=[key.pk]), REGISTRATION)
    assert response.status_code == 302
    assert response.url == reverse("key-detail", args=[key.pk])
    assert "NO_PURPOSE" not in open_codes(key)
    registration = Registration.objects.get(key=key, superseded_at__isnull=True)
    assert registration.why_not_sts == REGISTRATION["why_not_sts"]
    assert "registered" in html(client.get(response.url))


def test_a_missing_sts_reason_is_refused_with_the_field_error(client, people):
    key = owned_key()
    client.force_login(people["owner"])
    response = client.post(reverse("key-register", args=[key.pk]),
                           {**REGISTRATION, "why_not_sts": "   "})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["why_not_sts"]
    assert 'data-field="why_not_sts">This field is required.' in html(response)
    assert not Registration.objects.filter(key=key).exists()
    assert "NO_PURPOSE" in open_codes(key)


def test_the_form_asks_the_alternatives_in_order_and_prefills(client, people):
    key = owned_key()
    purpose_register(actor=people["owner"], key=key, data=RegistrationInput(**REGISTRATION))
    client.force_login(people["owner"])
    page = html(client.get(reverse("key-register", args=[key.pk])))
    positions = [page.index(f'name="{name}"') for name in
                 ("why_not_iam_role", "why_not_identity_center", "why_not_sts")]
    assert positions == sorted(positions)
    assert REGISTRATION["why_not_sts"] in page and 'maxlength="2000"' in page


def test_a_manager_may_look_but_not_register(client, people):
    key = owned_key()
    client.force_login(people["manager"])
    assert client.post(reverse("key-register", args=[key.pk]), REGISTRATION).status_code == 403
    assert not Registration.objects.filter(key=key).exists()


# -- exceptions ----------------------------------------------------------------------------

def test_owner_requests_and_the_manager_approves_through_the_pages(client, people):
    key = owned_key()
    purpose_register(actor=people["owner"], key=key, data=RegistrationInput(**REGISTRATION))
    client.force_login(people["owner"])
    form = client.get(reverse("exception-new", args=[key.pk]), {"code": "ROTATION_OVERDUE"})
    assert 'value="ROTATION_OVERDUE" id="id_code_0" required checked' in html(form)
    assert 'value="NO_PURPOSE"' not in html(form)
    response = client.post(reverse("exception-new", args=[key.pk]), {
        "code": "ROTATION_OVERDUE", "justification": "release freeze until the 30th",
        "expires_on": (timezone.localdate() + timedelta(days=20)).isoformat()})
    exception = ExceptionRequest.objects.get(key=key)
    assert response.status_code == 302
    assert response.url == reverse("exception-detail", args=[exception.pk])

    client.force_login(people["manager"])
    awaiting = html(client.get(reverse("exceptions"), {"tab": "awaiting"}))
    assert reverse("exception-detail", args=[exception.pk]) in awaiting
    response = client.post(reverse("exception-detail", args=[exception.pk]),
                           {"action": "approve", "note": "ok until the freeze ends"})
    assert response.status_code == 302
    exception.refresh_from_db()
    key.refresh_from_db()
    assert exception.status == "approved" and exception.decided_by == people["manager"]
    assert key.compliance == "excepted" and "ROTATION_OVERDUE" not in key.open_code_list
    detail = html(client.get(reverse("exception-detail", args=[exception.pk])))
    assert "approved the exception" in detail  # the audit trail
    assert reverse("exception-detail", args=[exception.pk]) not in html(
        client.get(reverse("exceptions"), {"tab": "awaiting"}))


def test_the_requester_cannot_approve_their_own_request(client, people):
    exception = request_exception(people["owner"], owned_key())
    client.force_login(people["owner"])
    page = html(client.get(reverse("exception-detail", args=[exception.pk])))
    assert "You cannot approve your own request" in page
    assert 'value="approve"' not in page and 'value="withdraw"' in page
    response = client.post(reverse("exception-detail", args=[exception.pk]),
                           {"action": "approve"})
    assert response.status_code == 403
    exception.refresh_from_db()
    assert exception.status == "requested"


def test_people_who_may_not_decide_are_told_why_and_refused(client, people):
    key = owned_key()
    by_security = request_exception(people["security"], key)  # requester without a manager
    client.force_login(people["owner"])  # who may see it, but owns the key
    url = reverse("exception-detail", args=[by_security.pk])
    page = html(client.get(url))
    assert "You own this key: you cannot decide an exception on it" in page
    assert 'value="approve"' not in page
    assert client.post(url, {"action": "reject", "note": "no"}).status_code == 403
    client.force_login(people["manager"])
    assert 'value="approve"' in html(client.get(url))
    client.force_login(people["other_manager"])
    mine = request_exception(people["owner"], owned_key())
    assert client.get(reverse("exception-detail", args=[mine.pk])).status_code == 404


def test_the_keys_owner_is_not_offered_a_decision_and_is_refused(client, people):
    key = owned_key("boss@example.com")  # the manager's own key
    by_security = request_exception(people["security"], key)  # any manager would decide
    url = reverse("exception-detail", args=[by_security.pk])
    client.force_login(people["manager"])
    page = html(client.get(url))
    assert "You own this key: you cannot decide an exception on it" in page
    assert 'value="approve"' not in page and 'value="reject"' not in page
    for data in ({"action": "approve"}, {"action": "reject", "note": "no"}):
        assert client.post(url, data).status_code == 403
    by_security.refresh_from_db()
    assert by_security.status == "requested"
    assert url not in html(client.get(reverse("exceptions"), {"tab": "awaiting"}))
    client.force_login(people["other_manager"])
    assert 'value="approve"' in html(client.get(url))
    assert url in html(client.get(reverse("exceptions"), {"tab": "awaiting"}))


def test_approving_a_request_whose_expiry_passed_is_refused_with_a_message(client, people):
    exception = request_exception(people["owner"], owned_key())
    ExceptionRequest.objects.filter(pk=exception.pk).update(
        expires_on=timezone.localdate() - timedelta(days=1))
    client.force_login(people["manager"])
    response = client.post(reverse("exception-detail", args=[exception.pk]),
                           {"action": "approve"}, follow=True)
    assert "has passed; reject the request and ask for a new one" in html(response)
    exception.refresh_from_db()
    assert exception.status == "requested"


def test_an_approval_on_the_page_cannot_extend_the_expiry(client, people):
    exception = request_exception(people["owner"], owned_key())
    client.force_login(people["manager"])
    later = exception.expires_on + timedelta(days=1)
    response = client.post(reverse("exception-detail", args=[exception.pk]),
                           {"action": "approve", "expires_on": later.isoformat()})
    assert response.status_code == 400
    assert "not extend it" in html(response)
    exception.refresh_from_db()
    assert exception.status == "requested"


def test_other_owner_cannot_see_the_exception(client, people):
    exception = request_exception(people["owner"], owned_key())
    client.force_login(people["other_owner"])
    assert client.get(reverse("exception-detail", args=[exception.pk])).status_code == 404
    assert client.post(reverse("exception-detail", args=[exception.pk]),
                       {"action": "withdraw"}).status_code == 404
    listed = html(client.get(reverse("exceptions"), {"tab": "all"}))
    assert reverse("exception-detail", args=[exception.pk]) not in listed


def test_rejecting_needs_a_note(client, people):
    exception = request_exception(people["owner"], owned_key())
    client.force_login(people["manager"])
    url = reverse("exception-detail", args=[exception.pk])
    refused = client.post(url, {"action": "reject", "note": ""})
    assert refused.status_code == 400 and "Say why." in html(refused)
    exception.refresh_from_db()
    assert exception.status == "requested"
    client.post(url, {"action": "reject", "note": "rotate it instead"})
    exception.refresh_from_db()
    assert exception.status == "rejected" and exception.decision_note == "rotate it instead"


def test_the_requester_withdraws_and_security_revokes(client, people):
    key = owned_key()
    withdrawn = request_exception(people["owner"], key)
    client.force_login(people["owner"])
    client.post(reverse("exception-detail", args=[withdrawn.pk]), {"action": "withdraw"})
    withdrawn.refresh_from_db()
    assert withdrawn.status == "withdrawn"

    approved = exception_approve(actor=people["manager"],
                                 exception=request_exception(people["owner"], key))
    client.force_login(people["security"])
    url = reverse("exception-detail", args=[approved.pk])
    assert 'value="revoke"' in html(client.get(url))
    client.post(url, {"action": "revoke", "note": "key leaked"})
    approved.refresh_from_db()
    key.refresh_from_db()
    assert approved.status == "revoked" and "ROTATION_OVERDUE" in key.open_code_list


def test_a_bad_expiry_is_refused_and_nothing_requested(client, people):
    key = owned_key()
    client.force_login(people["owner"])
    response = client.post(reverse("exception-new", args=[key.pk]), {
        "code": "ROTATION_OVERDUE", "justification": "freeze",
        "expires_on": (timezone.localdate() + timedelta(days=200)).isoformat()})
    assert response.status_code == 400
    assert "at most 90 days" in str(response.context["form"].errors["expires_on"])
    assert not ExceptionRequest.objects.filter(key=key).exists()


def test_the_lists_show_mine_and_filter_by_status(client, people):
    key = owned_key()
    exception = request_exception(people["owner"], key)
    client.force_login(people["owner"])
    link = reverse("exception-detail", args=[exception.pk])
    assert link in html(client.get(reverse("exceptions")))  # owners land on "mine"
    assert link not in html(client.get(reverse("exceptions"), {"tab": "mine",
                                                              "status": "approved"}))
    assert "Nothing awaits your decision" in html(
        client.get(reverse("exceptions"), {"tab": "awaiting"}))


# -- ownership gaps and assignment ---------------------------------------------------------

def test_security_assigns_an_owner_from_the_gaps_page_and_the_gap_closes(client, people):
    key = make_key()
    client.force_login(people["security"])
    gaps = reverse("ownership-gaps")
    page = html(client.get(gaps))
    assert key.access_key_id in page and "no owner assigned and no owner tag" in page
    assert f'name="keys" value="{key.pk}"' in page  # ticked, then assigned in bulk
    response = client.post(reverse("ownership-gaps-assign"),
                           {"owner": "owner@example.com", "keys": [key.pk], "next": gaps})
    assert response.status_code == 302 and response.url == gaps
    key.refresh_from_db()
    assert key.owner == people["owner"] and "NO_OWNER" not in open_codes(key)
    after = html(client.get(gaps, {"gap": "NO_OWNER"}))
    assert "owner@example.com now owns" in after
    assert f'data-key="{key.access_key_id}"' not in after


@pytest.mark.parametrize("persona", ["manager", "owner", "other_owner"])
def test_only_security_assigns_owners(client, people, persona):
    key = make_key()
    client.force_login(people[persona])
    response = client.post(reverse("key-assign-owner", args=[key.pk]),
                           {"person": people[persona].pk})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.assigned_owner is None


def test_assignment_refuses_leavers_and_foreign_next_urls(client, people):
    key = make_key()
    client.force_login(people["security"])
    url = reverse("key-assign-owner", args=[key.pk])
    assert client.get(url).url == reverse("key-detail", args=[key.pk])
    response = client.post(url, {"person": people["leaver"].pk,
                                 "next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[0][0] == reverse("key-detail", args=[key.pk])
    assert "Choose an active person" in html(response)
    key.refresh_from_db()
    assert key.assigned_owner is None


def test_managers_see_gaps_of_their_reports_keys_without_the_assign_form(client, people):
    key = owned_key()
    client.force_login(people["manager"])
    page = html(client.get(reverse("ownership-gaps")))
    assert key.access_key_id in page and "NO_PURPOSE" in page
    assert reverse("key-assign-owner", args=[key.pk]) not in page


def test_tag_values_in_gap_reasons_are_escaped(client, people):
    make_key({"owner": "<script>alert(1)</script>"})
    client.force_login(people["security"])
    page = html(client.get(reverse("ownership-gaps")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


# -- rotation ------------------------------------------------------------------------------

def test_rotation_counts_per_account_and_lists_what_to_rotate(client, people):
    account = AccountFactory(name="payments")
    overdue = make_key(account=account, created_at=NOW - timedelta(days=120))
    due = make_key(account=account, created_at=NOW - timedelta(days=80))
    fine = make_key(account=account, created_at=NOW - timedelta(days=10))
    make_key(account=account, created_at=NOW - timedelta(days=300), status="Inactive")
    client.force_login(people["security"])
    response = client.get(reverse("rotation"))
    row = next(r for r in response.context["accounts"] if r["account__name"] == "payments")
    assert (row["overdue"], row["due"], row["fine"]) == (1, 1, 1)
    page = html(response)
    assert overdue.access_key_id in page and due.access_key_id in page
    assert fine.access_key_id not in page
    assert "overdue by 30 days" in page and "due within 10 days" in page


# -- cost does not grow with the data -------------------------------------------------------

def _world(people, n: int) -> None:
    for i in range(n):
        key = owned_key()
        make_key({"owner": f"nobody{i}@example.com"}, created_at=NOW - timedelta(days=80))
        if i % 2:
            request_exception(people["owner"], key)


def _query_counts(client, people) -> dict[str, int]:
    visits = [("owner", reverse("my-keys")), ("manager", reverse("my-keys")),
              ("security", reverse("ownership-gaps")), ("security", reverse("rotation")),
              ("security", f"{reverse('exceptions')}?tab=all"),
              ("manager", f"{reverse('exceptions')}?tab=awaiting")]
    counts = {}
    for persona, url in visits:
        client.force_login(people[persona])
        client.get(url)  # warm per-session caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[f"{persona} {url}"] = len(queries)
    return counts


def test_list_pages_run_as_many_queries_for_30_keys_as_for_3(client, people):
    _world(people, 3)
    few = _query_counts(client, people)
    _world(people, 27)
    many = _query_counts(client, people)
    assert many == few
