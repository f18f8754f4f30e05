"""``manage.py add_account ACCOUNT_ID --name NAME [--role-arn ARN] [--external-id X]``."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.services.accounts import account_add


class Command(BaseCommand):
    help = "Register an AWS account to sync (without --role-arn: the ambient credentials)."

    def add_arguments(self, parser):
        parser.add_argument("account_id", help="the 12-digit AWS account id")
        parser.add_argument("--name", required=True)
        parser.add_argument("--role-arn", default="", help="role to assume to read the account")
        parser.add_argument("--external-id", default="", help="external id the role requires")

    def handle(self, *args, account_id, name, role_arn, external_id, **options):
        try:
            account = account_add(actor=None, account_id=account_id, name=name,
                                  role_arn=role_arn, external_id=external_id)
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}"
                                 for field, msgs in exc.message_dict.items())
            raise CommandError(f"account not added: {problems}") from None
        how = f"assuming {account.role_arn}" if account.role_arn else "with ambient credentials"
        self.stdout.write(f"added {account.account_id} ({account.name}), read {how}")
