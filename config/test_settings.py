"""Settings for the test suite: the real Postgres and Redis of the machine, unless overridden."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/keyledger")
os.environ.setdefault("KEYLEDGER_REDIS_URL", "redis://127.0.0.1:6379/15")

from .settings import *  # noqa: E402,F403

# Tests decide per case whether a task runs in-process or on a real worker.
CELERY_BROKER_URL = os.environ["KEYLEDGER_REDIS_URL"]
CELERY_TASK_ALWAYS_EAGER = True
KEYLEDGER_REPORT_POLL_FIRST_SECONDS = 0.01
KEYLEDGER_REPORT_POLL_MAX_SECONDS = 2.0
KEYLEDGER_AWS_MAX_ATTEMPTS = 3
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
