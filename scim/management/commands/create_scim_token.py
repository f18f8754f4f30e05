"""``manage.py create_scim_token [--days N] [--name NAME]``: a SCIM bearer token, printed
once (DESIGN.md public interfaces). Paste it into the identity provider's provisioning
settings with the SCIM URL (docs/SSO.md)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import GovernanceError
from scim.tokens import scim_token_create


class Command(BaseCommand):
    help = "Create a SCIM bearer token for the identity provider and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int,
                            default=min(365, settings.KEYLEDGER_SCIM_TOKEN_MAX_DAYS),
                            help="how long the token works (default 365 days)")
        parser.add_argument("--name", default="SCIM provisioning",
                            help="what the token is for, e.g. 'Okta'")

    def handle(self, *args, days, name, **options):
        try:
            token, secret = scim_token_create(actor=None, name=name, days=days)
        except GovernanceError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"SCIM token {token.name!r} ({token.prefix}…) expires "
                          f"{token.expires_at:%Y-%m-%d}. It is shown only now: store it in "
                          "the identity provider's provisioning settings.")
        self.stdout.write(secret)
