"""``manage.py export_keys [--format csv|json]``: every key, the columns of the CSV export."""

import json

from django.core.management.base import BaseCommand

from governance.exports import csv_lines, exportable_keys, key_export_rows


class Command(BaseCommand):
    help = "Write every key to stdout, as CSV (default) or JSON, with DESIGN.md's columns."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, format, **options):
        rows = key_export_rows(exportable_keys())
        if format == "csv":
            for line in csv_lines(rows):
                self.stdout.write(line, ending="")
            return
        self.stdout.write("[", ending="")
        for index, row in enumerate(rows):
            self.stdout.write(("," if index else "") + "\n" + json.dumps(row), ending="")
        self.stdout.write("\n]")
