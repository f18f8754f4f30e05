"""``manage.py sync_accounts [ACCOUNT_ID ...] [--full]``: sync now, in this process, a line per
account. ``--full`` lists every key holder's keys, as the daily full listing does. Then, when
``KEYLEDGER_IDENTITY_CENTER_ROLE_ARN`` is set, one Identity Center read for the whole round
(a line of its own; its failure does not change the exit status, which is about accounts)."""

from django.core.management.base import BaseCommand, CommandError

from governance.models import AwsAccount, SyncRun
from governance.sync import SyncAlreadyRunning, identity_center_round, sync_account


class Command(BaseCommand):
    help = "Sync the given accounts (default: every enabled account) now; exit 1 if any failed."

    def add_arguments(self, parser):
        parser.add_argument("account_ids", nargs="*", metavar="ACCOUNT_ID")
        parser.add_argument(
            "--full", action="store_true",
            help="list every key holder's keys (ListAccessKeys) even if a full listing is not "
                 "due, to catch at once what the credential report cannot show")

    def handle(self, *args, account_ids, full=False, **options):
        accounts = AwsAccount.objects.all()
        if account_ids:
            accounts = accounts.filter(account_id__in=account_ids)
            missing = sorted(set(account_ids) - set(accounts.values_list("account_id", flat=True)))
            if missing:
                raise CommandError(f"unknown account ids: {', '.join(missing)} (see add_account)")
        else:
            accounts = accounts.filter(enabled=True)
        if not accounts.exists():
            raise CommandError("no accounts to sync: add one with add_account or discover_accounts")
        failed = 0
        total = accounts.count()
        for number, account in enumerate(accounts, start=1):
            prefix = f"[{number}/{total}] {account.account_id} {account.name}:"
            try:
                run = sync_account(account=account, trigger=SyncRun.Trigger.COMMAND,
                                   full_listing=full).run
            except SyncAlreadyRunning as busy:
                failed += 1
                self.stdout.write(f"{prefix} skipped: {busy}")
                continue
            if run.status == SyncRun.Status.SUCCEEDED:
                self.stdout.write(
                    f"{prefix} ok in {run.duration_seconds:.1f}s: {run.users_seen} users, "
                    f"{run.keys_seen} keys ({run.keys_created} new, {run.keys_updated} changed, "
                    f"{run.keys_removed} removed), {run.rows_written} rows written, "
                    f"{run.aws_calls} AWS calls"
                )
            else:
                failed += 1
                self.stdout.write(f"{prefix} FAILED ({run.failure_kind}): {run.error}")
        self.stdout.write(f"{total - failed} of {total} accounts synced")
        identity_center = identity_center_round()
        if identity_center is not None:
            self.stdout.write(
                f"Identity Center: FAILED ({identity_center.error}); the last read is kept"
                if identity_center.error else
                f"Identity Center: read {identity_center.people} key owners")
        if failed:
            raise SystemExit(1)
