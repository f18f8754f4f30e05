"""TRUNCATE of the audit log is refused too, for every role, the table's owner included.

Row triggers (0004) do not fire on TRUNCATE, so ``TRUNCATE governance_auditevent`` and
``manage.py flush`` emptied the log. A statement trigger closes that. There is deliberately
no escape hatch: the app role has no TRUNCATE privilege at all (``setup_app_role``), and the
owner can already disable triggers, so a hatch would add nothing but a way in. The test
harness empties the table between transactional tests with the owner's own, superuser-only
``session_replication_role = replica`` (tests/conftest.py), which this trigger respects like
every ordinary trigger.

Neither this migration nor 0004 can be reversed: migrating back to before the protection is
refused instead of dropping it.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION governance_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE refused)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditevent_no_truncate BEFORE TRUNCATE
    ON governance_auditevent FOR EACH STATEMENT
    EXECUTE FUNCTION governance_auditevent_no_truncate();
"""


def forwards(apps, schema_editor):
    # SQLite has no TRUNCATE: DELETE without WHERE is already refused by 0004's trigger.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)


class Migration(migrations.Migration):
    dependencies = [("governance", "0008_search_trigram_indexes")]
    # No reverse: `migrate governance 0008` stops here (IrreversibleError) and drops nothing.
    operations = [migrations.RunPython(forwards)]
