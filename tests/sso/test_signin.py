"""Claims to a person (``sso.signin``): the rules behind the browser tests, case by case."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import Person
from governance.models import AuditEvent
from sso.signin import SignInRefused, person_for_claims

pytestmark = pytest.mark.django_db
ISSUER = "https://idp.example.com"


@pytest.fixture(autouse=True)
def mapping(settings):
    settings.KEYLEDGER_OIDC_SECURITY_GROUPS = ["KL-Security"]
    settings.KEYLEDGER_OIDC_MANAGER_GROUPS = ["kl-managers"]
    settings.KEYLEDGER_OIDC_CREATE_PEOPLE = False
    settings.KEYLEDGER_OIDC_TRUST_EMAIL = False
    return settings


def refusal(claims) -> str:
    with pytest.raises(SignInRefused) as refused:
        person_for_claims(claims=claims, issuer=ISSUER)
    return refused.value.reason


@pytest.mark.parametrize(("verified", "trust", "accepted"), [
    (True, False, True), ("true", False, True), (None, False, False), (None, True, True),
    (False, True, False), ("false", True, False),
])
def test_only_a_verified_email_signs_in(mapping, verified, trust, accepted):
    mapping.KEYLEDGER_OIDC_TRUST_EMAIL = trust
    Person.objects.create_user("ann@example.com")
    claims = {"sub": "1", "email": "ANN@example.com"}
    if verified is not None:
        claims["email_verified"] = verified

    if accepted:
        assert person_for_claims(claims=claims, issuer=ISSUER).email == "ann@example.com"
    else:
        assert refusal(claims) == "unverified_email"


def test_unknown_and_inactive_people_are_refused_and_nothing_is_created(mapping):
    Person.objects.create_user("gone@example.com", is_active=False)

    assert refusal({"email": "new@example.com", "email_verified": True}) == "unknown_person"
    assert refusal({"email": "gone@example.com", "email_verified": True}) == "inactive"
    assert not Person.objects.filter(email="new@example.com").exists()
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()


def test_roles_follow_the_groups_claim_and_keep_other_groups(mapping):
    person = Person.objects.create_user("bo@example.com")
    person.groups.add(Group.objects.create(name="auditors"),
                      Group.objects.get_or_create(name="manager")[0])
    claims = {"email": "bo@example.com", "email_verified": True, "groups": ["kl-security"]}

    person = person_for_claims(claims=claims, issuer=ISSUER)

    assert set(person.groups.values_list("name", flat=True)) == {"auditors", "security"}
    change = AuditEvent.objects.get(action="person.update")
    assert change.before == {"groups": ["auditors", "manager"]}
    assert change.after == {"groups": ["auditors", "security"]}
    person_for_claims(claims=claims, issuer=ISSUER)  # the same groups: nothing to audit
    assert AuditEvent.objects.filter(action="person.update").count() == 1


def test_without_a_mapping_roles_stay_as_given_in_keyledger(mapping):
    mapping.KEYLEDGER_OIDC_SECURITY_GROUPS = []
    mapping.KEYLEDGER_OIDC_MANAGER_GROUPS = []
    person = Person.objects.create_user("cy@example.com")
    person.groups.add(Group.objects.get_or_create(name="security")[0])

    person_for_claims(claims={"email": "cy@example.com", "email_verified": True, "groups": []},
                      issuer=ISSUER)

    assert Person.objects.get(pk=person.pk).is_security
