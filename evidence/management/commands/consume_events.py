"""``manage.py consume_events [--once]``: consume the key-change queue
(``KEYLEDGER_EVENTS_QUEUE_URL``), refreshing the one IAM user each event names; ``--once``
drains what is there and exits. SIGTERM/SIGINT: stop after the message in hand."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from evidence.consumer import Consumer
from governance.aws.events_queue import EventQueue


class Command(BaseCommand):
    help = ("Consume IAM change events from KEYLEDGER_EVENTS_QUEUE_URL and refresh the user "
            "each names; --once drains the queue and exits.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="drain what is on the queue now, then exit")

    def handle(self, *args, once=False, **options):
        if not settings.KEYLEDGER_EVENTS_QUEUE_URL:
            raise CommandError("KEYLEDGER_EVENTS_QUEUE_URL is not set: name the key-change "
                               "queue (docs/AWS-SETUP.md, \"Live changes\").")
        consumer = Consumer(EventQueue(settings.KEYLEDGER_EVENTS_QUEUE_URL),
                            wait_seconds=settings.KEYLEDGER_EVENTS_WAIT_SECONDS,
                            visibility_seconds=settings.KEYLEDGER_EVENTS_VISIBILITY_SECONDS,
                            retry_seconds=settings.KEYLEDGER_EVENTS_RETRY_SECONDS)
        consumer.install_signal_handlers()
        stats = consumer.run(once=once)
        self.stdout.write(f"{stats.received} received, {stats.handled} handled, "
                          f"{stats.dropped} dropped, {stats.failed} left for a retry, "
                          f"{sum(stats.calls.values())} AWS calls: "
                          + ", ".join(f"{action}={n}" for action, n in sorted(stats.calls.items())))
