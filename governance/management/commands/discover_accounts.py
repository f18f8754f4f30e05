"""``manage.py discover_accounts [--role-name NAME]``: register the organization's accounts."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.aws.errors import CollectionError
from governance.services.accounts import accounts_discover


class Command(BaseCommand):
    help = "Register every active account of the AWS organization (run with management creds)."

    def add_arguments(self, parser):
        parser.add_argument("--role-name", default=settings.KEYLEDGER_READER_ROLE_NAME,
                            help="reader role to assume in each account")
        parser.add_argument("--external-id", default="", help="external id the roles require")

    def handle(self, *args, role_name, external_id, **options):
        try:
            added, known = accounts_discover(actor=None, role_name=role_name,
                                             external_id=external_id)
        except CollectionError as exc:
            raise CommandError(f"discovery failed: {exc.message}") from None
        except ValidationError as exc:
            raise CommandError(f"discovery stopped: {'; '.join(exc.messages)}") from None
        for account in added:
            self.stdout.write(f"added {account.account_id} {account.name}")
        self.stdout.write(f"{len(added)} added, {len(known)} already registered")
