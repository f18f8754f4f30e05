from django.db import migrations, models


class Migration(migrations.Migration):
    """The overview's top risks read the newest open critical and high findings from an
    index instead of sorting every one of them."""

    dependencies = [
        ("governance", "0015_snapshot_index_key_columns"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="finding",
            index=models.Index(
                models.OrderBy(models.F("opened_at"), descending=True), models.F("severity"),
                condition=models.Q(("exception__isnull", True), ("resolved_at__isnull", True),
                                   ("severity__in", ["critical", "high"])),
                name="finding_open_top_risk_idx"),
        ),
    ]
