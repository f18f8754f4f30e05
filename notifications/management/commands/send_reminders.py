"""``manage.py send_reminders [--only owners|managers|security|urgent ...]``: send what is due.

What beat does on its schedules, on demand; repeats nothing already sent in its period.
"""

from django.core.management.base import BaseCommand

from notifications.services import GROUPS, SCHEDULED, notifications_send


class Command(BaseCommand):
    help = "Send due notifications (owners' reminders, managers' digests, security summary)."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="+", choices=list(GROUPS), default=list(SCHEDULED),
                            help="which groups to send (default: every scheduled one; "
                                 "urgent is a part of owners)")

    def handle(self, *args, only, **options):
        result = notifications_send(groups=tuple(only))
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.by_kind.items()))
        self.stdout.write(f"Notifications: {result.sent} sent, {result.skipped} skipped, "
                          f"{result.failed} failed" + (f" ({kinds})" if kinds else ""))
        if result.failed:
            self.stderr.write("Some notifications failed; they are retried on the next run.")
