"""When an account's keys were last listed in full (see ``governance.sync``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_audit_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="awsaccount",
            name="keys_listed_at",
            field=models.DateTimeField(
                blank=True, null=True,
                help_text="Start of the last sync that listed every key holder's keys; the "
                          "others list only users whose credential-report slots changed.",
            ),
        ),
    ]
