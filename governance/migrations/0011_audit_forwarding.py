"""Where the optional audit sink has shipped up to (governance.audit_sink)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0010_audit_hash_chain'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditForwarding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sink', models.CharField(help_text='Where to: s3://bucket/prefix or syslog+tcp://host:port.', max_length=300, unique=True)),
                ('last_event_id', models.BigIntegerField(default=0)),
                ('shipped_at', models.DateTimeField(blank=True, null=True)),
                ('failures', models.PositiveIntegerField(default=0, help_text='Failed runs in a row.')),
                ('failed_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.CharField(blank=True, max_length=500)),
            ],
        ),
    ]
