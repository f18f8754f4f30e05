"""``manage.py evaluate``: re-evaluate every key now and print open findings per code."""

from django.core.management.base import BaseCommand
from django.db import transaction

from governance.evaluation import evaluate_keys
from governance.policy import RULES
from governance.trends import snapshot_take


class Command(BaseCommand):
    help = "Re-evaluate every key against the rules; print open (not excepted) findings per code."

    def handle(self, *args, **options):
        with transaction.atomic():
            result = evaluate_keys()
            snapshot_take()
        self.stdout.write(f"{result.keys} keys evaluated: {result.opened} findings opened, "
                          f"{result.resolved} resolved")
        for code in sorted(RULES):
            self.stdout.write(f"  {code:<24} {result.open_by_code.get(code, 0)}")
