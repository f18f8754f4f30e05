"""``manage.py run_demo``: an emulated AWS organization, synced, and the app served on it.

The emulator (moto) runs in this process so the demo data can be backdated; the web server
runs in this process too so "Sync now" reaches the same emulator. Everything lives in
memory or in the demo's own SQLite file, and a restart starts fresh.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from accounts.models import Person
from accounts.people_import import parse_people_csv, people_import
from governance.models import AccessKey, AwsAccount, SyncRun
from governance.services.accounts import accounts_discover
from governance.sync import sync_account
from governance.trends import snapshot_take
from reduction.services import identity_center_refresh

LIVE_DEMO_USER = "svc-sendgrid"  # one active key in prod: room for a second
HISTORY_DAYS = 120  # demo.history.HISTORY_DAYS; demo/ imports moto, so only when run


class Command(BaseCommand):
    help = "Seed an emulated AWS organization, sync it, and serve Keyledger on it (demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve")
        parser.add_argument("--aws-port", type=int, default=0, help="emulator port (0: any)")
        parser.add_argument("--no-serve", action="store_true", help="seed and sync, then stop")
        parser.add_argument("--history-days", type=int, default=HISTORY_DAYS,
                            help="days of daily snapshots for the trend charts (1: today only)")

    def handle(self, *args, addr, aws_port, no_serve, history_days, **options):
        try:
            from demo.activity import TRAIL_BUCKET, seed_trail
            from demo.emulator import emulated_aws
            from demo.history import seed_history
            from demo.live import live_changes, wire_events
            from demo.responder import RESPONDER_ROLE_NAME, create_responder_roles
            from demo.seed import DEMO_EXTERNAL_ID, DEMO_PASSWORD, seed_organization
        except ImportError as exc:
            raise CommandError(f"the demo needs the dev dependencies: {exc}") from None
        base_url = served_base_url(addr)
        if AwsAccount.objects.exists():
            raise CommandError("this database already has accounts: the demo needs a fresh one "
                               "(make demo recreates var/demo)")
        # The organization trail's bucket, and the responder role Deactivate assumes.
        with emulated_aws(port=aws_port) as emulator, \
                override_settings(KEYLEDGER_BASE_URL=base_url, KEYLEDGER_TRAIL_BUCKET=TRAIL_BUCKET,
                                  KEYLEDGER_RESPONDER_ROLE_NAME=RESPONDER_ROLE_NAME):
            self.stdout.write(f"Emulated AWS (moto) on {emulator.url}")
            org = seed_organization()
            self.stdout.write(f"Seeded {len(org.accounts)} accounts: "
                              + ", ".join(f"{a.name} {a.account_id}" for a in org.accounts))
            trail = seed_trail(org)
            create_responder_roles(org)
            self.stdout.write(f"Organization trail: {trail.files} log files in "
                              f"s3://{trail.bucket}, {trail.events} events of {trail.keys} "
                              "keys over 30 days")
            self._people(org, DEMO_PASSWORD)
            added, _ = accounts_discover(actor=None, external_id=DEMO_EXTERNAL_ID)
            self.stdout.write(f"Discovered {len(added)} accounts through AWS Organizations")
            self._sync()
            self._usage_evidence(trail)
            self._fewer_keys(org)
            snapshot_take()
            if history_days > 1:
                rows = seed_history(days=history_days)
                self.stdout.write(f"Trend history: {history_days} days of daily snapshots "
                                  f"({rows} counts) replayed from the keys' dates")
            call_command("send_reminders", stdout=self.stdout)  # the Outbox page lists them
            if no_serve:
                return
            queue_url = wire_events()
            self.stdout.write(live_banner(emulator.url, base_url, queue_url))
            self.stdout.write(f"\nKeyledger demo: {base_url}/  (mail links point there too; "
                              "Ctrl-C to stop)\n")
            os.environ.setdefault("KEYLEDGER_DEMO", "1")
            with override_settings(**served_settings(addr), KEYLEDGER_EVENTS_QUEUE_URL=queue_url), \
                    live_changes(org.management_account_id, queue_url):
                Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
                call_command("runserver", addr, use_reloader=False, insecure_serving=True)

    def _people(self, org, password: str) -> None:
        rows = parse_people_csv(
            ["email,name,manager_email,roles,active"]
            + [f"{p.email},{p.name},{p.manager_email},{' '.join(p.roles)},"
               f"{'true' if p.active else 'false'}" for p in org.people]
        )
        with transaction.atomic():
            people_import(rows=rows)
            for person in Person.objects.all():
                person.set_password(password)
                person.is_staff = person.is_superuser = person.is_security
                person.save(update_fields=["password", "is_staff", "is_superuser"])
        self.stdout.write(f"\nDemo people (password for all: {password}):")
        people = Person.objects.select_related("manager").prefetch_related("groups")
        for person in people.order_by("email"):
            roles = ", ".join(g.name for g in person.groups.all()) or "key owner"
            manager = f"reports to {person.manager.email}" if person.manager else ""
            state = "  (inactive: cannot sign in)" if not person.is_active else ""
            self.stdout.write(f"  {person.email:<30} {roles:<10} {manager}{state}".rstrip())
        self.stdout.write("")

    def _fewer_keys(self, org) -> None:
        """Issue 17's facts and plans through the services a sync round and the key page use:
        Identity Center read once for the synced keys' owners (the management account's
        directory: no reader role in the demo), then plans opened and moved by owners."""
        from demo.issuance import seed_demo_issuance
        from demo.reduction import seed_demo_identity_center, seed_demo_plans

        seed_demo_identity_center(org)
        people = identity_center_refresh()
        plans = seed_demo_plans(org)
        issuance = seed_demo_issuance(org)  # one request awaiting security (demo/issuance.py)
        self.stdout.write(f"Identity Center: read {people} key owners; migration plans: "
                          + ", ".join(f"{p.key.user.name} ({p.get_state_display().lower()})"
                                      for p in plans)
                          + f"; issuance request #{issuance.pk} for {issuance.user_name} "
                            "awaiting security")

    def _usage_evidence(self, trail) -> None:
        """Read the trail as the periodic task would, then register the key the trail shows
        used from an undeclared address (``demo.activity``)."""
        from demo.activity import UNDECLARED_ADDRESS, register_declared_key

        call_command("read_trail", stdout=self.stdout)
        registration = register_declared_key(trail)
        self.stdout.write(f"Usage evidence: {registration.key.user.name}'s key declares "
                          f"{', '.join(registration.declared_sources)} and was used from "
                          f"{UNDECLARED_ADDRESS} too (UNEXPECTED_SOURCE)")

    def _sync(self) -> None:
        for account in AwsAccount.objects.filter(enabled=True):
            run = sync_account(account=account, trigger=SyncRun.Trigger.COMMAND).run
            if run.status == SyncRun.Status.SUCCEEDED:
                self.stdout.write(f"  synced {account.account_id} {account.name}: "
                                  f"{run.users_seen} users, {run.keys_seen} keys, "
                                  f"{run.aws_calls} AWS calls")
            else:
                self.stdout.write(f"  FAILED {account.account_id} {account.name}: {run.error}")


def live_banner(aws_url: str, base_url: str, queue_url: str) -> str:
    """How to see live changes work: change a key in the emulator, watch its page follow.
    The credentials are a prod key's own id (the emulator acts in the account of a key it
    issued, and checks no secret)."""
    key = (AccessKey.objects.filter(account__name="prod", user__name=LIVE_DEMO_USER,
                                    status=AccessKey.Status.ACTIVE).first())
    if key is None:
        return f"\nLive changes: the events consumer runs on {queue_url}.\n"
    return (f"\nLive changes: the events consumer runs on {queue_url}, fed by an EventBridge "
            "rule on IAM's key, user and group calls. Try it with the AWS CLI:\n"
            f"  AWS_ACCESS_KEY_ID={key.access_key_id} AWS_SECRET_ACCESS_KEY=demo aws "
            f"--endpoint-url {aws_url} --region us-east-1 iam create-access-key "
            f"--user-name {LIVE_DEMO_USER}\n"
            f"and watch the new key appear at {base_url}/keys/?q={LIVE_DEMO_USER} "
            "within seconds.\n")


def served_base_url(addr: str) -> str:
    """Where people open the demo, for links in its mail: ``KEYLEDGER_BASE_URL`` when set
    (``make demo`` sets it from ``PORT``), else the address it is served on."""
    return settings.KEYLEDGER_BASE_URL if os.environ.get("KEYLEDGER_BASE_URL") else f"http://{addr}"


def served_settings(addr: str) -> dict:
    """The settings the demo is served with: DEBUG off, so a missing page or an error shows
    Keyledger's own pages (templates/404.html, 500.html) rather than Django's debug pages;
    the development server still serves the static files (``insecure_serving``)."""
    host = addr.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"
    return {"DEBUG": False, "ALLOWED_HOSTS": [host, "127.0.0.1", "localhost", "[::1]"]}
