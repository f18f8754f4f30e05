"""The ``demo`` fixture's snapshot (tests/snapshots.py): whatever a browser test changes, in
the database or in moto, the next test starts from exactly what ``run_demo`` produced."""

import json
import urllib.request

from django.db import connection

from accounts.models import Person
from governance.models import AccessKey, AwsAccount
from governance.sync import sync_account
from tests.conftest import account_clients


def table_contents() -> dict[str, str]:
    """A digest of every table's rows, whatever their physical order."""
    tables = connection.introspection.django_table_names(only_existing=True,
                                                         include_views=False)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(
            f"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            f"FROM {quote(table)} t" for table in sorted(tables)))
        return dict(cursor.fetchall())


def moto_state(server) -> dict:
    """moto's own dump of every model it tracks (its dashboard's data), less the one value
    it makes up at each read (an assumed role's id when the role does not exist)."""
    with urllib.request.urlopen(f"{server.url}/moto-api/data.json", timeout=30) as response:  # noqa: S310
        state = json.loads(response.read())
    for role in state.get("sts", {}).get("AssumedRole", []):
        role.pop("user_id", None)
    return state


def test_what_a_test_changes_is_undone_for_the_next_one(demo, _demo_snapshot, moto_server):
    seeded_rows, seeded_aws = table_contents(), moto_state(moto_server)
    prod = AwsAccount.objects.get(name="prod")
    key = AccessKey.objects.filter(account=prod, status="Active", removed_at__isnull=True,
                                   user__name="svc-sendgrid").select_related("user").get()
    iam = account_clients(prod.account_id).client("iam")
    iam.update_access_key(UserName=key.user.name, AccessKeyId=key.access_key_id,
                          Status="Inactive")
    iam.create_user(UserName="made-by-a-test")
    assert sync_account(account=prod).run.status == "succeeded"
    key.refresh_from_db()
    person = Person.objects.create(email="made-by-a-test@example.com", name="Made")
    assert key.status == "Inactive" and table_contents() != seeded_rows
    assert moto_state(moto_server) != seeded_aws

    # What the next test's ``demo`` does before it starts.
    _demo_snapshot.database.restore(connection)
    _demo_snapshot.aws.restore()

    assert table_contents() == seeded_rows
    assert moto_state(moto_server) == seeded_aws
    # The credentials assumed above are gone with the rest: the next test assumes its own.
    iam = account_clients(prod.account_id).client("iam")
    (listed,) = [k for k in iam.list_access_keys(UserName=key.user.name)["AccessKeyMetadata"]
                 if k["AccessKeyId"] == key.access_key_id]
    assert listed["Status"] == "Active"
    assert "made-by-a-test" not in {u["UserName"] for u in iam.list_users()["Users"]}
    assert AccessKey.objects.get(pk=key.pk).status == "Active"
    # Sequences are back too: the next row gets the id the first one got.
    again = Person.objects.create(email="made-by-a-test@example.com", name="Made")
    assert again.pk == person.pk
