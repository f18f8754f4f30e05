"""``manage.py verify_audit``: walk the audit log's hash chain; exit 1 at the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_chain_verify


class Command(BaseCommand):
    help = ("Check every audit event's hash and link, oldest first, in constant memory; name "
            "the first broken link (event, time, what is wrong) and exit 1 if there is one. "
            "The outcome is recorded and shown on the audit log page.")

    def handle(self, *args, **options):
        result = audit_chain_verify()
        if not result.ok:
            when = f" ({result.broken_at:%Y-%m-%d %H:%M:%S} UTC)" if result.broken_at else ""
            raise CommandError(
                f"audit chain BROKEN at event #{result.broken_event_id}{when}: event "
                f"#{result.broken_event_id} {result.problem}. {result.events} events checked; "
                f"intact through #{result.head_event_id or '-'}.", returncode=1)
        self.stdout.write(
            f"audit chain intact: {result.events} events"
            + (f", newest #{result.head_event_id} (hash {result.head_hash})"
               if result.head_event_id else ""))
