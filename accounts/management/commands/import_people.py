"""``manage.py import_people FILE.csv``: create or update people from a CSV file."""

from django.core.management.base import BaseCommand, CommandError

from accounts.people_import import PeopleImportError, parse_people_csv, people_import


class Command(BaseCommand):
    help = "Create or update people from a CSV with header email,name,manager_email,roles,active."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the CSV file (UTF-8)")

    def handle(self, *args, file, **options):
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                rows = parse_people_csv(handle)
            result = people_import(rows=rows)
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text") from None
        except PeopleImportError as exc:
            raise CommandError(f"{file}: nothing imported:\n{exc}") from None
        self.stdout.write(
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
