"""Make the audit log append-only in the database itself: UPDATE and DELETE are refused.

The application never changes an audit event; a trigger makes that a property of the data,
not a convention, so neither a bug nor a compromised code path can rewrite history.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION governance_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditevent_no_update BEFORE UPDATE OR DELETE
    ON governance_auditevent FOR EACH ROW EXECUTE FUNCTION governance_auditevent_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS governance_auditevent_no_update ON governance_auditevent;
DROP FUNCTION IF EXISTS governance_auditevent_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER governance_auditevent_no_update BEFORE UPDATE ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER governance_auditevent_no_delete BEFORE DELETE ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS governance_auditevent_no_update;",
               "DROP TRIGGER IF EXISTS governance_auditevent_no_delete;"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_compliance_choices")]
    operations = [migrations.RunPython(forwards, backwards)]
