"""``run_demo --no-serve``: the path ``make demo`` takes, up to serving."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Person
from governance.models import AccessKey, AwsAccount, SyncRun

pytestmark = pytest.mark.django_db


def test_demo_seeds_discovers_and_syncs_every_account(moto_server):
    out = io.StringIO()

    call_command("run_demo", "--no-serve", stdout=out)

    text = out.getvalue()
    assert "password for all:" in text
    names = set(AwsAccount.objects.values_list("name", flat=True))
    assert {"prod", "staging", "dev", "legacy"} <= names
    assert SyncRun.objects.exclude(status=SyncRun.Status.SUCCEEDED).count() == 0
    assert AccessKey.objects.filter(user__name="<root_account>").count() == 1
    assert 75 <= AccessKey.objects.count() <= 90
    security = Person.objects.get(email="priya.raman@example.com")
    assert security.is_security and security.check_password(
        text.split("password for all: ")[1].split(")")[0])
    with pytest.raises(CommandError, match="needs a fresh one"):
        call_command("run_demo", "--no-serve", stdout=io.StringIO())
