"""Settings for the test suite: the real Postgres and Redis of the machine, unless overridden."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/keyledger")
os.environ.setdefault("KEYLEDGER_REDIS_URL", "redis://127.0.0.1:6379/15")

from .settings import *  # noqa: E402,F403

# Tests decide per case whether a task runs in-process or on a real worker.
CELERY_BROKER_URL = os.environ["KEYLEDGER_REDIS_URL"]
CELERY_TASK_ALWAYS_EAGER = True
KEYLEDGER_SYNC_IN_THREAD = False  # a test that wants the demo's background sync turns it on
KEYLEDGER_REPORT_POLL_FIRST_SECONDS = 0.01
KEYLEDGER_REPORT_POLL_MAX_SECONDS = 2.0
KEYLEDGER_AWS_MAX_ATTEMPTS = 3
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# No collectstatic in tests: an empty static root keeps WhiteNoise from warning.
STATIC_ROOT = Path(tempfile.gettempdir()) / "keyledger-test-static"  # noqa: F405
STATIC_ROOT.mkdir(exist_ok=True)
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
SECURE_HSTS_SECONDS = 0
