"""``manage.py run_demo``: an emulated AWS organization, synced, and the app served on it.

The emulator (moto) runs in this process so the demo data can be backdated; the web server
runs in this process too so "Sync now" reaches the same emulator. Everything lives in
memory or in the demo's own SQLite file, and a restart starts fresh.
"""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Person
from accounts.people_import import parse_people_csv, people_import
from governance.models import AwsAccount, SyncRun
from governance.services.accounts import accounts_discover
from governance.sync import sync_account
from governance.trends import snapshot_take


class Command(BaseCommand):
    help = "Seed an emulated AWS organization, sync it, and serve Keyledger on it (demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve")
        parser.add_argument("--aws-port", type=int, default=0, help="emulator port (0: any)")
        parser.add_argument("--no-serve", action="store_true", help="seed and sync, then stop")

    def handle(self, *args, addr, aws_port, no_serve, **options):
        try:
            from demo.emulator import emulated_aws
            from demo.seed import DEMO_EXTERNAL_ID, DEMO_PASSWORD, seed_organization
        except ImportError as exc:
            raise CommandError(f"the demo needs the dev dependencies: {exc}") from None
        if AwsAccount.objects.exists():
            raise CommandError("this database already has accounts: the demo needs a fresh one "
                               "(make demo recreates var/demo)")
        with emulated_aws(port=aws_port) as emulator:
            self.stdout.write(f"Emulated AWS (moto) on {emulator.url}")
            org = seed_organization()
            self.stdout.write(f"Seeded {len(org.accounts)} accounts: "
                              + ", ".join(f"{a.name} {a.account_id}" for a in org.accounts))
            self._people(org, DEMO_PASSWORD)
            added, _ = accounts_discover(actor=None, external_id=DEMO_EXTERNAL_ID)
            self.stdout.write(f"Discovered {len(added)} accounts through AWS Organizations")
            self._sync()
            snapshot_take()
            call_command("send_reminders", stdout=self.stdout)  # the Outbox page lists them
            if no_serve:
                return
            self.stdout.write(f"\nKeyledger demo: http://{addr}/  (Ctrl-C to stop)\n")
            os.environ.setdefault("KEYLEDGER_DEMO", "1")
            call_command("runserver", addr, use_reloader=False)

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
        for person in Person.objects.prefetch_related("groups").order_by("email"):
            roles = ", ".join(g.name for g in person.groups.all()) or "key owner"
            state = "" if person.is_active else "  (inactive: cannot sign in)"
            self.stdout.write(f"  {person.email:<32} {roles}{state}")
        self.stdout.write("")

    def _sync(self) -> None:
        for account in AwsAccount.objects.filter(enabled=True):
            run = sync_account(account=account, trigger=SyncRun.Trigger.COMMAND).run
            if run.status == SyncRun.Status.SUCCEEDED:
                self.stdout.write(f"  synced {account.account_id} {account.name}: "
                                  f"{run.users_seen} users, {run.keys_seen} keys, "
                                  f"{run.aws_calls} AWS calls")
            else:
                self.stdout.write(f"  FAILED {account.account_id} {account.name}: {run.error}")
