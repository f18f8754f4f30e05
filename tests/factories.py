"""Factories for rows the tests need without going through AWS, and the named personas."""

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Person
from governance.models import AccessKey, AwsAccount, IamUser

NOW = datetime.now(UTC)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-only")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=role)[0])
        self.save()


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AwsAccount

    account_id = factory.Sequence(lambda n: f"{100000000000 + n}")
    name = factory.Sequence(lambda n: f"account-{n}")
    cloudtrail_logging = True
    root_keys_present = False


class IamUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IamUser

    account = factory.SubFactory(AccountFactory)
    user_id = factory.Sequence(lambda n: f"AIDA{n:016d}")
    name = factory.Sequence(lambda n: f"svc-{n}")
    arn = factory.LazyAttribute(lambda u: f"arn:aws:iam::{u.account.account_id}:user/{u.name}")
    created_at = NOW - timedelta(days=400)
    tags = factory.LazyFunction(dict)
    policies = factory.LazyFunction(list)


def _email(owner) -> str:
    return owner if isinstance(owner, str) else owner.email


class AccessKeyFactory(factory.django.DjangoModelFactory):
    """A key of a fresh IAM user, 10 days old.

    The owned-key trait: ``owner=`` (an email or a Person) tags the IAM user with
    ``owner=<email>``; ``days_old=`` sets ``created_at`` that many days before now;
    ``evaluated=True`` runs the rules on the key and reloads it. Any of them combine with
    ``user__account=`` and the other fields, e.g. ``AccessKeyFactory(owner="owner@example.com",
    days_old=200, evaluated=True)`` is an overdue key with ROTATION_OVERDUE open.
    """

    class Meta:
        model = AccessKey
        skip_postgeneration_save = True

    class Params:
        owner = None
        days_old = None

    user = factory.Maybe(
        "owner",
        yes_declaration=factory.SubFactory(
            IamUserFactory,
            tags=factory.LazyAttribute(lambda u: {"owner": _email(u.factory_parent.owner)})),
        no_declaration=factory.SubFactory(IamUserFactory),
    )
    account = factory.SelfAttribute("user.account")
    access_key_id = factory.Sequence(lambda n: f"AKIA{n:016d}")
    status = AccessKey.Status.ACTIVE
    created_at = factory.LazyAttribute(
        lambda k: NOW - timedelta(days=10) if k.days_old is None
        else timezone.now() - timedelta(days=k.days_old))
    last_used_at = NOW - timedelta(days=1)

    @factory.post_generation
    def evaluated(self, create, extracted, **kwargs):
        if create and extracted:
            from governance.evaluation import evaluate_keys

            evaluate_keys(keys=AccessKey.objects.filter(pk=self.pk))
            self.refresh_from_db()


def personas():
    """The people every access test uses: security, two managers, owners, a leaver."""
    security = PersonFactory(email="sec@example.com", roles=["security"])
    manager = PersonFactory(email="boss@example.com", roles=["manager"])
    other_manager = PersonFactory(email="boss2@example.com", roles=["manager"])
    owner = PersonFactory(email="owner@example.com", manager=manager)
    other_owner = PersonFactory(email="other@example.com", manager=other_manager)
    no_manager = PersonFactory(email="solo@example.com")
    leaver = PersonFactory(email="gone@example.com", is_active=False, manager=manager)
    return {"security": security, "manager": manager, "other_manager": other_manager,
            "owner": owner, "other_owner": other_owner, "no_manager": no_manager,
            "leaver": leaver}
