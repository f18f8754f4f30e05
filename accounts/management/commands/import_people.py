"""``manage.py import_people FILE.csv``: create or update people from a CSV file."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.people_import import (
    PeopleImportError,
    decode_people_csv,
    parse_people_csv,
    people_import,
)


class Command(BaseCommand):
    help = "Create or update people from a CSV with header email,name,manager_email,roles,active."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the CSV file (UTF-8)")

    def handle(self, *args, file, **options):
        try:
            with open(file, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror})") from None
        try:
            result = people_import(rows=parse_people_csv(decode_people_csv(data)))
        except PeopleImportError as exc:
            raise CommandError(f"{file}: nothing imported:\n{exc}") from None
        except ValidationError as exc:  # a rule the file checks missed; nothing was written
            raise CommandError(f"{file}: nothing imported:\n{'; '.join(exc.messages)}") from None
        self.stdout.write(
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
