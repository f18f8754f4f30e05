"""Chain the audit log by hash, and keep each verification of the chain append-only too.

Every event gets ``prev_hash`` and ``hash`` (``core.audit_chain.event_hash``); the
events written before this migration are chained here, in id order, with the UPDATE trigger
disabled for this transaction only (it is enabled again before the migration commits; the
owner runs migrations). From now on ``audit()`` computes both at insert. Verifications
(``AuditVerification``) refuse UPDATE, DELETE and TRUNCATE like the events. Irreversible.
"""

from django.db import migrations, models

from core.audit_chain import CONTENT_FIELDS, GENESIS, event_hash

BATCH = 1000

POSTGRES_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION governance_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only (%% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditverification_no_update BEFORE UPDATE OR DELETE
    ON governance_auditverification FOR EACH ROW EXECUTE FUNCTION governance_append_only();
CREATE TRIGGER governance_auditverification_no_truncate BEFORE TRUNCATE
    ON governance_auditverification FOR EACH STATEMENT EXECUTE FUNCTION governance_append_only();
"""
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER governance_auditverification_no_update BEFORE UPDATE
       ON governance_auditverification BEGIN
       SELECT RAISE(ABORT, 'governance_auditverification is append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER governance_auditverification_no_delete BEFORE DELETE
       ON governance_auditverification BEGIN
       SELECT RAISE(ABORT, 'governance_auditverification is append-only (DELETE refused)'); END;""",
]
# SQLite (the demo) rebuilds a table to add a column, dropping its triggers: 0004's again.
SQLITE_EVENT_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS governance_auditevent_no_update BEFORE UPDATE
       ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER IF NOT EXISTS governance_auditevent_no_delete BEFORE DELETE
       ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;""",
]


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("governance", "AuditEvent")
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # ALTER TABLE refuses while deferred constraint checks are queued on the table.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE governance_auditevent "
                              "DISABLE TRIGGER governance_auditevent_no_update")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS governance_auditevent_no_update")
    prev, last, pending = GENESIS, 0, []
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last).order_by("id")
                    .values("id", *CONTENT_FIELDS)[:BATCH])
        for row in rows:
            digest = event_hash(row, prev)
            pending.append(AuditEvent(id=row["id"], prev_hash=prev, hash=digest))
            prev, last = digest, row["id"]
        AuditEvent.objects.bulk_update(pending, ["prev_hash", "hash"], batch_size=BATCH)
        pending.clear()
        if len(rows) < BATCH:
            break
    if vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE governance_auditevent "
                              "ENABLE TRIGGER governance_auditevent_no_update")
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")
    elif vendor == "sqlite":
        for statement in SQLITE_EVENT_TRIGGERS:
            schema_editor.execute(statement)


def verifications_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_APPEND_ONLY)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_APPEND_ONLY:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("governance", "0009_audit_no_truncate")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(db_default="", default="", editable=False, max_length=64,
                                   help_text="The previous event's hash (zeros for the first)."),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(db_default="", default="", editable=False, max_length=64,
                                   help_text="SHA-256 of this event's content and prev_hash."),
        ),
        migrations.CreateModel(
            name="AuditVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("checked_at", models.DateTimeField()),
                ("ok", models.BooleanField()),
                ("events", models.PositiveIntegerField(
                    help_text="Events checked before stopping.")),
                ("head_event_id", models.BigIntegerField(blank=True, null=True,
                                                         help_text="The last intact event.")),
                ("head_hash", models.CharField(blank=True, max_length=64)),
                ("broken_event_id", models.BigIntegerField(blank=True, null=True)),
                ("broken_at", models.DateTimeField(blank=True, null=True)),
                ("problem", models.CharField(blank=True, max_length=500)),
            ],
            options={"ordering": ["-id"]},
        ),
        # No reverse for either: migrating back is refused before anything is undone.
        migrations.RunPython(chain_existing_events),
        migrations.RunPython(verifications_append_only),
    ]
