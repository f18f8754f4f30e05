"""``manage.py read_trail [ACCOUNT_ID ...] [--days N]``: read the organization trail's new
log files now, in this process, a line per account; exit 1 if any account failed."""

import re

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evidence.reading import read_account, trail_accounts
from governance.aws.errors import CollectionError
from governance.aws.trail import trail_session

ACCOUNT_ID = re.compile(r"[0-9]{12}")


class Command(BaseCommand):
    help = ("Read the organization trail's new log files (default: every account in the "
            "trail, since each watermark); exit 1 if any account failed.")

    def add_arguments(self, parser):
        parser.add_argument("account_ids", nargs="*", metavar="ACCOUNT_ID")
        parser.add_argument(
            "--days", type=int, default=None,
            help="go back at most N days (default KEYLEDGER_EVIDENCE_DAYS); never past "
                 "KEYLEDGER_EVIDENCE_RETENTION_DAYS")

    def handle(self, *args, account_ids, days=None, **options):
        if not settings.KEYLEDGER_TRAIL_BUCKET:
            raise CommandError("KEYLEDGER_TRAIL_BUCKET is not set: name the organization "
                               "trail's bucket (docs/AWS-SETUP.md).")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        bad = [a for a in account_ids if not ACCOUNT_ID.fullmatch(a)]
        if bad:
            raise CommandError(f"not 12-digit account ids: {', '.join(bad)}")
        session = trail_session()
        try:
            found = trail_accounts(session)
        except CollectionError as error:
            self.stdout.write(f"trail listing FAILED: {error.message}")
            raise SystemExit(1) from None
        wanted = account_ids or sorted(found)
        if not wanted:
            self.stdout.write("the trail holds no account logs yet")
        today = timezone.now().date()
        failed = 0
        for number, account_id in enumerate(wanted, start=1):
            prefix = f"[{number}/{len(wanted)}] {account_id}:"
            outcome = read_account(account_id=account_id, prefixes=found.get(account_id, []),
                                   today=today, days=days, session=session)
            line = (f"{outcome.read} objects ({outcome.listed} listed, {outcome.malformed} "
                    f"malformed), {outcome.events} events kept, {len(outcome.keys)} keys seen")
            if outcome.failed:
                failed += 1
                self.stdout.write(f"{prefix} FAILED after {line}: {outcome.errors[0]}"
                                  + (f" (+{len(outcome.errors) - 1} more)"
                                     if len(outcome.errors) > 1 else ""))
            else:
                self.stdout.write(f"{prefix} ok: {line}")
        self.stdout.write(f"{len(wanted) - failed} of {len(wanted)} accounts read")
        if failed:
            raise SystemExit(1)
