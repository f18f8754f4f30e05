"""The trend index with key columns instead of INCLUDE ones: SQLite (the demo) has no
INCLUDE, and Django warned about it (models.W040) as the first line of ``make demo``."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0014_key_risk"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="dailysnapshot", name="snapshot_dimension_day_idx"),
        migrations.AddIndex(
            model_name="dailysnapshot",
            index=models.Index(fields=["dimension", "day", "name", "count"],
                               name="snapshot_dim_day_name_idx"),
        ),
    ]
