"""The Celery app and the one place every periodic schedule is defined."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("keyledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def beat_schedule(sync_interval_minutes: int) -> dict:
    """Periodic tasks: the organization-wide sync fans out one task per account; reminders
    and digests follow the day's evaluation (00:15 UTC)."""
    return {
        "sync-all-accounts": {
            "task": "governance.tasks.sync_all_accounts",
            "schedule": float(sync_interval_minutes * 60),
        },
        "expire-stale-sync-runs": {
            "task": "governance.tasks.expire_abandoned_sync_runs",
            "schedule": crontab(minute="*/10"),
        },
        "expire-exceptions": {
            "task": "governance.tasks.expire_exceptions",
            "schedule": crontab(minute=5),
        },
        "forward-audit-events": {  # a no-op unless KEYLEDGER_AUDIT_SINK is set
            "task": "governance.tasks.forward_audit_events",
            "schedule": crontab(minute="*/5"),
        },
        "verify-audit-chain-hourly": {
            "task": "governance.tasks.verify_audit_chain",
            "schedule": crontab(minute=50),
        },
        # Usage evidence (evidence/tasks.py): a no-op unless KEYLEDGER_TRAIL_BUCKET is set.
        # CloudTrail delivers a file about every 5 minutes per account and region.
        "read-trail": {
            "task": "evidence.tasks.read_trail",
            "schedule": crontab(minute="*/15"),
        },
        "prune-usage-evidence-daily": {
            "task": "evidence.tasks.prune_usage_evidence",
            "schedule": crontab(hour=0, minute=40),
        },
        "evaluate-and-snapshot-daily": {
            "task": "governance.tasks.evaluate_all_keys",
            "schedule": crontab(hour=0, minute=15),
        },
        # Notifications: each run sends only what was not sent in its period already.
        "notify-owners-hourly": {
            "task": "notifications.tasks.send_notifications",
            "schedule": crontab(minute=30),
            "args": ("owners",),
        },
        "notify-managers-daily": {
            "task": "notifications.tasks.send_notifications",
            "schedule": crontab(hour=7, minute=0, day_of_week="mon-fri"),
            "args": ("managers",),
        },
        # Overdue migration plans (reduction/reminders.py): each at most once per
        # KEYLEDGER_PLAN_REMINDER_DAYS to its owner.
        "remind-overdue-plans-daily": {
            "task": "reduction.tasks.remind_overdue_plans",
            "schedule": crontab(hour=7, minute=5),
        },
        "notify-security-weekly": {
            "task": "notifications.tasks.send_notifications",
            "schedule": crontab(hour=7, minute=15, day_of_week="mon"),
            "args": ("security",),
        },
    }


@app.on_after_configure.connect
def _install_schedule(sender, **_kwargs):
    from django.conf import settings

    sender.conf.beat_schedule = beat_schedule(settings.KEYLEDGER_SYNC_INTERVAL_MINUTES)
