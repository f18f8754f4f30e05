#!/usr/bin/env python
"""Django's command-line utility for Keyledger."""

import os
import secrets
import sys

# Commands that judge files offline: they read no database and sign nothing, so a team can
# run them from a checkout without production's SECRET_KEY. A throwaway key satisfies the
# settings' start-up check; every other command still refuses to start without one.
OFFLINE_COMMANDS = frozenset({"check_policy"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] and sys.argv[1] in OFFLINE_COMMANDS and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
