"""Trigram indexes for the inventory search (``governance.filters._searched_key_ids``).

The search is a case-insensitive substring match (``icontains``: ``UPPER(col::text) LIKE
UPPER('%value%')``) on key ids, IAM user names and IAM user tags; without these, each one
reads every row (a tags match cost ~100 ms at 80,000 users). The index expressions are
exactly the ones Django writes for ``icontains`` so that Postgres can use them.

Postgres only, and raw SQL on purpose: SQLite (the demo, lint's ``makemigrations --check``)
has neither pg_trgm nor GIN, and keeping the indexes out of ``Meta.indexes`` keeps the model
state the same on every database. People (a few hundred rows) need no index.
"""

from django.db import migrations

INDEXES = {
    "key_id_trgm_idx": ("governance_accesskey", "access_key_id"),
    "iamuser_name_trgm_idx": ("governance_iamuser", "name"),
    "iamuser_tags_trgm_idx": ("governance_iamuser", "tags"),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0007_ascii_validators"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
