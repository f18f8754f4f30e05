"""Indexes for the dashboard at 100,000 keys (docs/BENCHMARKS.md, "Dashboard at scale")."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0005_full_listing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='accesskey',
            index=models.Index(condition=models.Q(('removed_at__isnull', True)), fields=['created_at', 'id'], name='key_present_created_idx'),
        ),
        migrations.AddIndex(
            model_name='accesskey',
            index=models.Index(condition=models.Q(('removed_at__isnull', True)), fields=['last_used_at', 'id'], name='key_present_used_idx'),
        ),
        migrations.AddIndex(
            model_name='awsaccount',
            index=models.Index(fields=['name', 'account_id'], name='account_name_idx'),
        ),
        migrations.AddIndex(
            model_name='dailysnapshot',
            index=models.Index(fields=['dimension', 'day'], include=('name', 'count'), name='snapshot_dimension_day_idx'),
        ),
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(condition=models.Q(('exception__isnull', True), ('resolved_at__isnull', True)), fields=['code', 'key'], name='finding_open_code_idx'),
        ),
    ]
