"""``manage.py setup_app_role [--role NAME]``: the app's database role, run by the migrate step.

Run as the tables' owner (``MIGRATE_DATABASE_URL``) after ``migrate``. It creates the role
``DATABASE_URL`` names (with that URL's password) if missing and grants it what the app needs:
every table's rows, but the audit log only INSERT and SELECT. Idempotent: run it on every
deployment. Exit status 1, naming the problem, when the audit log could not be protected.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from governance.app_role import AppRoleError, app_role_setup


class Command(BaseCommand):
    help = ("Create or update the database role the app runs as (DATABASE_URL's user): "
            "every table's rows, the audit log append-only. Run as the owner after migrate.")

    def add_arguments(self, parser):
        parser.add_argument("--role", default="",
                            help="the role to set up (default: DATABASE_URL's user, with its "
                                 "password)")

    def handle(self, *args, role, **options):
        if connection.vendor == "sqlite":
            self.stdout.write("SQLite has no database roles: nothing to set up (demo only).")
            return
        app = settings.KEYLEDGER_APP_DATABASE
        # DATABASE_URL's password goes with DATABASE_URL's user, never with another role.
        password = app.get("PASSWORD") or None
        if role and role != app.get("USER"):
            password = None
        role = role or app.get("USER") or ""
        if not role:
            raise CommandError("DATABASE_URL names no user: which role should the app run as?")
        try:
            outcome = app_role_setup(role=role, password=password)
        except AppRoleError as exc:
            raise CommandError(f"app role not set up: {exc}") from None
        allowed = [p for p, yes in outcome.audit_privileges.items() if yes]
        self.stdout.write(
            f"role {outcome.role} {'created' if outcome.created else 'updated'} in "
            f"{outcome.database}: rows of every table owned by {outcome.owner}; "
            f"audit log {' and '.join(allowed)} only")
