"""Make the audit log append-only in the database itself: UPDATE and DELETE are refused.

The application never changes an audit event; a trigger makes that a property of the data,
not a convention, so neither a bug nor a compromised code path can rewrite history.

It cannot be reversed: migrating back to before it is refused (IrreversibleError) instead of
dropping the protection. 0009 adds TRUNCATE to what is refused.
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
SQLITE_UP = [
    """CREATE TRIGGER governance_auditevent_no_update BEFORE UPDATE ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER governance_auditevent_no_delete BEFORE DELETE ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;""",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_compliance_choices")]
    operations = [migrations.RunPython(forwards)]  # no reverse: see the docstring
