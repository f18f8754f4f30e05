"""``manage.py check_policy [--json] FILE...``: judge the policies a key's user would have,
before the key exists (DESIGN.md, "Public interfaces").

Each FILE is a JSON list of ``{"name", "kind", "document"}`` or a single policy document
(see ``governance.policy_input``). Per FILE: the Permissions and Source verdicts with their
reasons, or with ``--json`` one line ``{"file", "admin", "escalation", "source_restricted",
"reasons"}``. A FILE that cannot be judged is named on stderr with why; the others are still
judged, and the exit status is 2. Nothing here touches the database.
"""

import json
import os
import re
import sys

from django.core.management.base import BaseCommand

from governance.iam_policy import PermissionVerdict, analyse_permissions
from governance.policy_input import PolicyInputError, read_policy_file, verdict_fields

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """Reasons quote policy names and actions as written: escape what would drive a terminal
    or break a line."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def verdict_text(path: str, count: int, verdict: PermissionVerdict) -> str:
    """The verdict for a person: what would be flagged, then each answer with its reason."""
    flagged = [code for code, fires in (("ADMIN_PRIVILEGE", verdict.admin),
                                        ("PRIVILEGE_ESCALATION", verdict.escalation),
                                        ("NO_SOURCE_RESTRICTION", not verdict.source_restricted))
               if fires]
    plural = "policy" if count == 1 else "policies"
    escalation = _printable(verdict.escalation_reason)
    return "\n".join([
        f"{_printable(path)} ({count} {plural}): "
        + (f"would be flagged {', '.join(flagged)}" if flagged else "nothing flagged"),
        f"  Permissions  admin: {_yes_no(verdict.admin)} - {_printable(verdict.admin_reason)}",
        f"               escalation: {_yes_no(verdict.escalation)}"
        + (f" - {escalation}" if escalation else ""),
        f"  Source       restricted: {_yes_no(verdict.source_restricted)} - "
        f"{_printable(verdict.source_reason)}",
    ])


class Command(BaseCommand):
    help = ("Judge the policies a key's user would have (admin, escalation, source "
            "restriction) before the key exists. Exit 2 if a FILE could not be judged.")
    requires_system_checks = []  # reads files, not the database: start fast

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE",
            help='a JSON list of {"name", "kind", "document"} (kind: user-inline, '
                 "user-attached, group-inline, group-attached) or a single policy document")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="one JSON line per FILE instead of text")

    def handle(self, *args, files, as_json=False, **options):
        self._judged = 0
        try:
            failed = sum(not self._judge(path, as_json=as_json) for path in files)
        except BrokenPipeError:  # the reader stopped early (| head): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return
        if failed:
            self.stderr.write(f"{failed} of {len(files)} files could not be judged")
            raise SystemExit(2)

    def _judge(self, path: str, *, as_json: bool) -> bool:
        """Print the verdict on one FILE; False (and why, on stderr) if it cannot be read."""
        try:
            read = read_policy_file(path)
        except PolicyInputError as problem:
            self.stderr.write(_printable(f"{path}: {problem}"))
            return False
        for warning in read.warnings:
            self.stderr.write(_printable(f"{path}: warning: {warning}"))
        verdict = analyse_permissions(read.policies)
        if as_json:
            self.stdout.write(_json_line({"file": path, **verdict_fields(verdict)}))
        else:
            if self._judged:
                self.stdout.write("")  # a blank line between FILEs
            self.stdout.write(verdict_text(path, len(read.policies), verdict))
        self._judged += 1
        return True


def _json_line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=True, separators=(", ", ": "))
