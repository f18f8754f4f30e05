from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """Usage evidence read from CloudTrail: what each access key did, from where.

    Its own app (and migrations) because it is written by the trail reader, not by a sync,
    and keyed by access key id rather than by inventory row (see ``evidence.models``).
    """

    name = "evidence"
    verbose_name = "Usage evidence"
    default_auto_field = "django.db.models.BigAutoField"
