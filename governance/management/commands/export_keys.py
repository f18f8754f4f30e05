"""``manage.py export_keys [--format csv|json]``: every key, the columns of the CSV export."""

import json
import os
import sys

from django.core.management.base import BaseCommand

from governance.exports import csv_lines, key_export_rows
from governance.selectors import exportable_keys


class Command(BaseCommand):
    help = "Write every key to stdout, as CSV (default) or JSON, with DESIGN.md's columns."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, format, **options):
        try:
            self._write(format)
        except BrokenPipeError:  # the reader stopped early (| head): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())

    def _write(self, format: str) -> None:
        rows = key_export_rows(exportable_keys())
        if format == "csv":
            for line in csv_lines(rows):
                self.stdout.write(line, ending="")
            return
        self.stdout.write("[", ending="")
        for index, row in enumerate(rows):
            self.stdout.write(("," if index else "") + "\n" + json.dumps(row), ending="")
        self.stdout.write("\n]")
