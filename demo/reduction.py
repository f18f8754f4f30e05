"""Fewer keys in the demo (issue 17): an Identity Center directory for some demo people, and
migration plans in different states, so the key pages show a way out and a plan.

The directory is made in the organization's management account with the ambient (demo)
credentials, which is where ``identity_center_refresh`` reads it when
``KEYLEDGER_IDENTITY_CENTER_ROLE_ARN`` is unset. Plans are opened and moved by the keys'
owners through ``reduction.services``, as on the key page: audited, and only after the
accounts are synced (a plan needs the key's owner, and ``replaced`` needs the key inactive).
"""

from __future__ import annotations

from datetime import timedelta

import boto3
from django.utils import timezone

from governance.models import AccessKey
from reduction.models import MigrationPlan
from reduction.services import plan_advance, plan_open

from .catalog import PEOPLE_BY_HANDLE
from .identity_center import Directory, DirectoryGroup, DirectoryPerson, seed_identity_center
from .seed import REGION, DemoOrganization

# (IAM user name in prod, which key, path, target in days, state): one plan per state a
# person can reach. ``done`` is left to a sync that sees a key deleted.
DEMO_PLANS = (
    ("svc-github-actions", AccessKey.Status.ACTIVE, "oidc_federation", 30,
     MigrationPlan.State.PLANNED),
    ("alice.nguyen", AccessKey.Status.ACTIVE, "identity_center", 14,
     MigrationPlan.State.IN_PROGRESS),
    ("app-payments-batch", AccessKey.Status.INACTIVE, "iam_role", 21,
     MigrationPlan.State.REPLACED),
)


def _person(handle: str, assignments: tuple[tuple[str, str], ...] = ()) -> DirectoryPerson:
    person = PEOPLE_BY_HANDLE[handle]
    return DirectoryPerson(user_name=person.email.split("@")[0], email=person.email,
                           display_name=person.name, assignments=assignments)


def seed_demo_identity_center(org: DemoOrganization) -> Directory:
    """Alice holds Developer on prod directly; alice, bob and chen are developers (ReadOnly on
    dev, Developer on staging); dana has a user and no assignment; nobody else has one."""
    ids = {account.name: account.account_id for account in org.accounts}
    people = [_person("alice", ((ids["prod"], "Developer"),)), _person("bob"), _person("chen"),
              _person("dana")]
    developers = DirectoryGroup(
        "developers", tuple(p.user_name for p in people[:3]),
        assignments=((ids["dev"], "ReadOnly"), (ids["staging"], "Developer")))
    return seed_identity_center(boto3.Session(region_name=REGION), people=people,
                                groups=[developers], region=REGION)


def seed_demo_plans(org: DemoOrganization) -> list[MigrationPlan]:
    """Open the ``DEMO_PLANS`` in the synced prod account, each by its key's owner, and move
    them to their state; fails loudly if the demo's keys no longer fit them."""
    prod = next(a.account_id for a in org.accounts if a.name == "prod")
    today = timezone.localdate()
    plans = []
    for user_name, status, path, days, state in DEMO_PLANS:
        key = (AccessKey.objects.filter(account__account_id=prod, user__name=user_name,
                                        status=status, removed_at__isnull=True,
                                        owner__isnull=False)
               .select_related("owner").order_by("created_at").first())
        if key is None:
            raise RuntimeError(f"no owned {status} key of {user_name} in prod for a demo plan")
        plan = plan_open(actor=key.owner, key=key, path=path,
                         target_date=today + timedelta(days=days),
                         notes=f"Demo: replace the key by {path.replace('_', ' ')}.")
        if state != MigrationPlan.State.PLANNED:
            plan = plan_advance(actor=key.owner, plan=plan, state=state)
        plans.append(plan)
    return plans
