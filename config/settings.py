"""Keyledger settings, read from the environment (see README "Configuration").

Every value has a safe default for the demo except SECRET_KEY, which production must set:
without DEBUG the app refuses to start on the built-in development key.
"""

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .env import (
    env_bool,
    env_choice,
    env_database,
    env_float,
    env_int,
    env_list,
    env_str,
)
from .logging import logging_config


def _http_url(name: str, default: str) -> str:
    """An http(s) URL without a trailing slash, or the default; anything else stops start-up."""
    value = (env_str(name) or default).strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name}={value!r} must be an http:// or https:// URL.")
    return value


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KEYLEDGER_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET_KEY = "keyledger-development-only-not-secret"
SECRET_KEY = env_str("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "core",
    "accounts",
    "governance",
    "notifications",
    "evidence",
]

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",  # answers load balancers whatever Host they send
    "django.middleware.security.SecurityMiddleware",
    "config.security.RequestBodyLimitMiddleware",  # 413 before anything reads a body
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.NoStoreMiddleware",  # after WhiteNoise: static files stay cacheable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context.navigation",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", str(VAR_DIR / "keyledger.sqlite3"))}
# Two database roles (docs/DEPLOYMENT.md): the web app, workers and beat connect through
# DATABASE_URL as a role that may only INSERT and SELECT audit events; the one-shot migrate
# step sets MIGRATE_DATABASE_URL, the tables' owner, which then replaces DATABASE_URL here,
# and `setup_app_role` creates and grants the role DATABASE_URL names.
KEYLEDGER_APP_DATABASE = DATABASES["default"]
if env_str("MIGRATE_DATABASE_URL"):
    DATABASES["default"] = env_database("MIGRATE_DATABASE_URL", "")
    if not env_str("DATABASE_URL"):
        raise ImproperlyConfigured("MIGRATE_DATABASE_URL is set but DATABASE_URL is not: the "
                                   "migrate step needs both (the owner and the app role).")
    _where = ("ENGINE", "HOST", "PORT", "NAME")
    if [DATABASES["default"].get(k) for k in _where] != [KEYLEDGER_APP_DATABASE.get(k)
                                                        for k in _where]:
        raise ImproperlyConfigured("MIGRATE_DATABASE_URL and DATABASE_URL must name the same "
                                   "database (engine, host, port and name); only the role "
                                   "differs.")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # The dashboard's short queries never repay JIT compilation: at 100,000 keys it added
    # ~30 ms to every deep inventory plan (docs/BENCHMARKS.md, "Dashboard at scale").
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.Person"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-in while a lockout is in force
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after 5 failures for one e-mail from one address, 15 minutes' lockout.
# The e-mail is counted in its one spelling (case, spaces, width), on every sign-in page.
AXES_FAILURE_LIMIT = env_int("KEYLEDGER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("KEYLEDGER_LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.identity.axes_username"
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security headers ----------------------------------------------------------------------
# No inline script or style anywhere: every asset is a file served from this origin.
KEYLEDGER_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                 "form-action 'self'; frame-ancestors 'none'")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("KEYLEDGER_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = env_int("KEYLEDGER_SESSION_SECONDS", 8 * 3600, minimum=300)
# HTTPS: on by default outside DEBUG. The health check stays reachable over plain HTTP for
# load balancers. HSTS preload is a domain owner's commitment: opt in with the variable.
SECURE_SSL_REDIRECT = env_bool("KEYLEDGER_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env_int("KEYLEDGER_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KEYLEDGER_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("KEYLEDGER_HSTS_PRELOAD", False)
if env_bool("KEYLEDGER_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_048_576
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's three, JSON's refusing too deep nesting and lone surrogates with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "governance.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Keyledger API",
    "DESCRIPTION": "AWS access-key governance: keys, findings, exceptions, accounts, sync runs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Migration plans and issuance requests both have a ``state``: name each set of states
    # in the schema rather than let drf-spectacular invent a hashed name for one of them.
    "ENUM_NAME_OVERRIDES": {
        "MigrationPlanStateEnum": "reduction.models.MigrationPlan.State",
        "IssuanceRequestStateEnum": "reduction.models.IssuanceRequest.State",
    },
}
KEYLEDGER_API_TOKEN_MAX_DAYS = env_int("KEYLEDGER_API_TOKEN_MAX_DAYS", 90, minimum=1, maximum=90)

# --- Celery (namespace CELERY_) -------------------------------------------------------------
# Without a broker, tasks run in-process: the demo and a single-machine install need no Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_str("CELERY_BROKER_URL") is None
# "Sync now" without a broker runs the sync on a thread of the web process, after the
# response, so the page follows its progress instead of waiting for it (the demo).
KEYLEDGER_SYNC_IN_THREAD = CELERY_TASK_ALWAYS_EAGER
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = {"governance.tasks.sync_account": {"queue": "sync"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below (JSON in production)
CELERY_TIMEZONE = "UTC"

# --- Keyledger --------------------------------------------------------------------------------
# AWS access: Keyledger runs on ambient credentials and assumes this role in each account.
KEYLEDGER_READER_ROLE_NAME = env_str("KEYLEDGER_READER_ROLE_NAME", "KeyledgerReader")
# Incident response: a separate role allowed only iam:UpdateAccessKey; empty turns it off.
KEYLEDGER_RESPONDER_ROLE_NAME = env_str("KEYLEDGER_RESPONDER_ROLE_NAME", "")
KEYLEDGER_ROLE_SESSION_NAME = env_str("KEYLEDGER_ROLE_SESSION_NAME", "keyledger-sync")
KEYLEDGER_ASSUME_ROLE_SECONDS = env_int("KEYLEDGER_ASSUME_ROLE_SECONDS", 900,
                                        minimum=900, maximum=3600)
KEYLEDGER_AWS_REGION = env_str("KEYLEDGER_AWS_REGION", "us-east-1")
KEYLEDGER_AWS_RETRY_MODE = env_choice("KEYLEDGER_AWS_RETRY_MODE", "standard",
                                      ("standard", "adaptive", "legacy"))
KEYLEDGER_AWS_MAX_ATTEMPTS = env_int("KEYLEDGER_AWS_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
KEYLEDGER_AWS_CONNECT_TIMEOUT = env_float("KEYLEDGER_AWS_CONNECT_TIMEOUT", 5.0)
KEYLEDGER_AWS_READ_TIMEOUT = env_float("KEYLEDGER_AWS_READ_TIMEOUT", 30.0)
# The credential report is generated asynchronously by AWS: poll with a doubling back-off.
KEYLEDGER_REPORT_POLL_FIRST_SECONDS = env_float("KEYLEDGER_REPORT_POLL_FIRST_SECONDS", 1.0)
KEYLEDGER_REPORT_POLL_MAX_SECONDS = env_float("KEYLEDGER_REPORT_POLL_MAX_SECONDS", 120.0)
# AWS-managed policy documents are the same in every account: refetch at most this often.
KEYLEDGER_MANAGED_POLICY_TTL_HOURS = env_int("KEYLEDGER_MANAGED_POLICY_TTL_HOURS", 24, minimum=0)

# Sync scheduling and locking.
KEYLEDGER_SYNC_INTERVAL_MINUTES = env_int("KEYLEDGER_SYNC_INTERVAL_MINUTES", 60, minimum=5)
KEYLEDGER_SYNC_LOCK_SECONDS = env_int("KEYLEDGER_SYNC_LOCK_SECONDS", 900, minimum=60)
# A full ListAccessKeys of every key holder at least this often (and on `sync_accounts --full`);
# between them a user whose credential-report slots are unchanged is not listed again.
KEYLEDGER_FULL_LISTING_HOURS = env_int("KEYLEDGER_FULL_LISTING_HOURS", 24, minimum=1)
KEYLEDGER_SYNC_TASK_RETRIES = env_int("KEYLEDGER_SYNC_TASK_RETRIES", 3, minimum=0, maximum=10)
KEYLEDGER_STALE_AFTER_HOURS = env_int("KEYLEDGER_STALE_AFTER_HOURS", 6, minimum=1)
# Redelivery after a worker dies (Celery's broker_transport_options, Redis). Tasks are
# acknowledged late, so a worker killed mid-task leaves its message unacknowledged; a worker
# puts it back on its queue once it is older than this visibility timeout (the transport's
# default, an hour, left a dead worker's account unsynced that long). It must outlast the
# sync lock, or the redelivered sync finds the dead run still holding the account, and the
# longest retry delay, or a retry waiting out its countdown is handed to a second worker
# too; the minute on top covers a worker that dies early in its run (one that dies later is
# retried by the task once its run expires). A sync running longer than this is delivered
# twice: harmless, the copy finds the live run holding the account (its heartbeat keeps
# the lock). The other tasks take under a minute even at 100,000 keys (docs/BENCHMARKS.md).
KEYLEDGER_SYNC_RETRY_MAX_SECONDS = 600  # the longest countdown governance.tasks retries with
_VISIBILITY_FLOOR = max(KEYLEDGER_SYNC_LOCK_SECONDS, KEYLEDGER_SYNC_RETRY_MAX_SECONDS)
KEYLEDGER_BROKER_VISIBILITY_SECONDS = env_int("KEYLEDGER_BROKER_VISIBILITY_SECONDS",
                                              _VISIBILITY_FLOOR + 60)
if KEYLEDGER_BROKER_VISIBILITY_SECONDS < _VISIBILITY_FLOOR:
    raise ImproperlyConfigured(
        f"KEYLEDGER_BROKER_VISIBILITY_SECONDS={KEYLEDGER_BROKER_VISIBILITY_SECONDS} is shorter "
        f"than the sync lock (KEYLEDGER_SYNC_LOCK_SECONDS={KEYLEDGER_SYNC_LOCK_SECONDS}) or "
        f"the longest retry delay ({KEYLEDGER_SYNC_RETRY_MAX_SECONDS} s): a dead worker's sync "
        f"would be redelivered while its account is still locked, or a retry run twice.")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": KEYLEDGER_BROKER_VISIBILITY_SECONDS}

# Governance thresholds (DESIGN.md "Findings").
KEYLEDGER_ROTATION_MAX_DAYS = env_int("KEYLEDGER_ROTATION_MAX_DAYS", 90, minimum=1)
KEYLEDGER_ROTATION_WARNING_DAYS = env_int("KEYLEDGER_ROTATION_WARNING_DAYS", 14, minimum=0)
KEYLEDGER_UNUSED_DAYS = env_int("KEYLEDGER_UNUSED_DAYS", 45, minimum=1)
KEYLEDGER_PURPOSE_REVIEW_DAYS = env_int("KEYLEDGER_PURPOSE_REVIEW_DAYS", 180, minimum=1)
KEYLEDGER_EXCEPTION_MAX_DAYS = env_int("KEYLEDGER_EXCEPTION_MAX_DAYS", 90, minimum=1)
# Who decides issuance requests (a new key, before it exists): "security" (the team) or
# "manager" (the requester's manager or the security team, as exceptions are decided).
KEYLEDGER_ISSUANCE_APPROVERS = env_choice("KEYLEDGER_ISSUANCE_APPROVERS", "security",
                                          ("security", "manager"))
KEYLEDGER_SNAPSHOT_RETENTION_DAYS = env_int("KEYLEDGER_SNAPSHOT_RETENTION_DAYS", 800, minimum=400)
# The burn-down's target: the active keys (without an approved keep) the organization means
# to reach; the burn-down forecasts the day it does at the pace of the last weeks.
KEYLEDGER_BURNDOWN_TARGET = env_int("KEYLEDGER_BURNDOWN_TARGET", 0, minimum=0)
KEYLEDGER_OWNER_TAG_KEYS = env_list("KEYLEDGER_OWNER_TAG_KEYS",
                                    ["owner", "Owner", "owner-email", "OwnerEmail"])

# --- Audit sink (optional): every audit event shipped to a write-once store -----------------
# Off unless set. "s3": JSON lines into an S3 bucket with Object Lock, each object retained
# for KEYLEDGER_AUDIT_SINK_RETENTION_DAYS; "syslog": RFC 5424 JSON lines over TCP (never UDP,
# which loses messages silently). Shipped after commit and every 5 minutes; a failed batch
# is sent again, never skipped (governance/audit_sink.py, docs/DEPLOYMENT.md).
KEYLEDGER_AUDIT_SINK = env_choice("KEYLEDGER_AUDIT_SINK", "", ("", "s3", "syslog"))
KEYLEDGER_AUDIT_SINK_BUCKET = env_str("KEYLEDGER_AUDIT_SINK_BUCKET", "").strip()
KEYLEDGER_AUDIT_SINK_PREFIX = env_str("KEYLEDGER_AUDIT_SINK_PREFIX", "keyledger-audit/").strip()
KEYLEDGER_AUDIT_SINK_RETENTION_DAYS = env_int("KEYLEDGER_AUDIT_SINK_RETENTION_DAYS", 400,
                                              minimum=1, maximum=36_500)
KEYLEDGER_AUDIT_SINK_LOCK_MODE = env_choice("KEYLEDGER_AUDIT_SINK_LOCK_MODE", "COMPLIANCE",
                                            ("COMPLIANCE", "GOVERNANCE"))
KEYLEDGER_AUDIT_SINK_SYSLOG = env_str("KEYLEDGER_AUDIT_SINK_SYSLOG", "").strip()
if KEYLEDGER_AUDIT_SINK == "s3" and not KEYLEDGER_AUDIT_SINK_BUCKET:
    raise ImproperlyConfigured("KEYLEDGER_AUDIT_SINK=s3 needs KEYLEDGER_AUDIT_SINK_BUCKET, a "
                               "bucket created with Object Lock enabled.")
if KEYLEDGER_AUDIT_SINK_BUCKET and KEYLEDGER_AUDIT_SINK != "s3":
    raise ImproperlyConfigured("KEYLEDGER_AUDIT_SINK_BUCKET is set but KEYLEDGER_AUDIT_SINK is "
                               f"{KEYLEDGER_AUDIT_SINK or 'empty (off)'!r}: set it to s3.")
if KEYLEDGER_AUDIT_SINK_SYSLOG and KEYLEDGER_AUDIT_SINK != "syslog":
    raise ImproperlyConfigured("KEYLEDGER_AUDIT_SINK_SYSLOG is set but KEYLEDGER_AUDIT_SINK is "
                               f"{KEYLEDGER_AUDIT_SINK or 'empty (off)'!r}: set it to syslog.")
if KEYLEDGER_AUDIT_SINK == "syslog":
    _syslog = urlsplit(KEYLEDGER_AUDIT_SINK_SYSLOG)
    try:
        _syslog_port = _syslog.port
    except ValueError:
        _syslog_port = None
    if _syslog.scheme != "tcp" or not _syslog.hostname or not _syslog_port:
        raise ImproperlyConfigured(
            f"KEYLEDGER_AUDIT_SINK_SYSLOG={KEYLEDGER_AUDIT_SINK_SYSLOG!r} must be "
            "tcp://HOST:PORT (UDP would lose events without a word).")

# --- Usage evidence: the organization trail's log files in S3 (evidence/, read_trail) --------
# Read through a reader role in the log-archive account (unset: ambient credentials), with
# its external id; the KMS key, when the trail is SSE-KMS encrypted, is only named in errors
# (S3 decrypts for a role holding kms:Decrypt on it). Unset bucket: reading is off.
KEYLEDGER_TRAIL_BUCKET = env_str("KEYLEDGER_TRAIL_BUCKET", "").strip()
KEYLEDGER_TRAIL_PREFIX = env_str("KEYLEDGER_TRAIL_PREFIX", "AWSLogs/").strip()
if KEYLEDGER_TRAIL_PREFIX and not KEYLEDGER_TRAIL_PREFIX.endswith("/"):
    raise ImproperlyConfigured(f"KEYLEDGER_TRAIL_PREFIX={KEYLEDGER_TRAIL_PREFIX!r} must end "
                               "with / (CloudTrail writes AWSLogs/[o-org/]ACCOUNT/... under it).")
KEYLEDGER_TRAIL_ROLE_ARN = env_str("KEYLEDGER_TRAIL_ROLE_ARN", "").strip()
KEYLEDGER_TRAIL_EXTERNAL_ID = env_str("KEYLEDGER_TRAIL_EXTERNAL_ID", "").strip()
KEYLEDGER_TRAIL_KMS_KEY_ID = env_str("KEYLEDGER_TRAIL_KMS_KEY_ID", "").strip()
# The window the evidence is judged over, and how long the daily rows are kept (never less).
KEYLEDGER_EVIDENCE_DAYS = env_int("KEYLEDGER_EVIDENCE_DAYS", 30, minimum=1, maximum=366)
KEYLEDGER_EVIDENCE_RETENTION_DAYS = env_int("KEYLEDGER_EVIDENCE_RETENTION_DAYS", 400,
                                            minimum=KEYLEDGER_EVIDENCE_DAYS)
# A key used in one day from more distinct addresses (AWS services acting for it aside) or
# user agents than these is flagged on its page as possibly shared (one key per purpose).
KEYLEDGER_SHARED_ADDRESSES_PER_DAY = env_int("KEYLEDGER_SHARED_ADDRESSES_PER_DAY", 5, minimum=1)
KEYLEDGER_SHARED_AGENTS_PER_DAY = env_int("KEYLEDGER_SHARED_AGENTS_PER_DAY", 5, minimum=1)
# Objects per read task: the unit fanned out over the workers (docs/DEPLOYMENT.md).
KEYLEDGER_TRAIL_BATCH_OBJECTS = env_int("KEYLEDGER_TRAIL_BATCH_OBJECTS", 50, minimum=1,
                                        maximum=1000)

# --- Live changes: the key-change queue EventBridge fills (evidence/, consume_events) ---------
# Unset URL: no consumer runs. The wait is SQS long polling (at most 20 s); the visibility
# timeout is how long a received message stays hidden, extended every half of it while the
# consumer works on it; a failed refresh leaves the message to reappear after the retry
# delay. After the queue's redrive maxReceiveCount receives (deploy/aws, default 5) SQS moves
# it to the dead-letter queue: that count is the queue's, not a Keyledger setting.
KEYLEDGER_EVENTS_QUEUE_URL = env_str("KEYLEDGER_EVENTS_QUEUE_URL", "").strip()
KEYLEDGER_EVENTS_WAIT_SECONDS = env_int("KEYLEDGER_EVENTS_WAIT_SECONDS", 20, minimum=1,
                                        maximum=20)
KEYLEDGER_EVENTS_VISIBILITY_SECONDS = env_int("KEYLEDGER_EVENTS_VISIBILITY_SECONDS", 60,
                                              minimum=2, maximum=43200)
KEYLEDGER_EVENTS_RETRY_SECONDS = env_int("KEYLEDGER_EVENTS_RETRY_SECONDS", 30, minimum=0,
                                         maximum=43200)

# --- Notifications (notifications/) ----------------------------------------------------------
# Links in e-mails and chat posts are absolute: the address people open Keyledger at.
KEYLEDGER_BASE_URL = _http_url("KEYLEDGER_BASE_URL", "http://127.0.0.1:8000")
# Optional Slack-compatible incoming webhook for critical findings and the weekly summary.
KEYLEDGER_CHAT_WEBHOOK_URL = _http_url("KEYLEDGER_CHAT_WEBHOOK_URL", "")
KEYLEDGER_EXCEPTION_WARNING_DAYS = env_int("KEYLEDGER_EXCEPTION_WARNING_DAYS", 7, minimum=1)
KEYLEDGER_REVIEW_WARNING_DAYS = env_int("KEYLEDGER_REVIEW_WARNING_DAYS", 14, minimum=0)
# E-mail: SMTP when EMAIL_HOST is set. Otherwise production writes messages to the log
# (console) and the demo sends nothing ("outbox"): either way the Outbox page lists them.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "keyledger@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "outbox": "django.core.mail.backends.dummy.EmailBackend",  # recorded in the Outbox only
}
EMAIL_BACKEND = _EMAIL_BACKENDS[env_choice(
    "KEYLEDGER_EMAIL_BACKEND", "smtp" if EMAIL_HOST else ("outbox" if DEBUG else "console"),
    tuple(_EMAIL_BACKENDS))]

# --- Logging ---------------------------------------------------------------------------------
# JSON lines in production (one per sync run, per governance decision, per notification).
LOGGING = logging_config(
    log_format=env_choice("KEYLEDGER_LOG_FORMAT", "plain" if DEBUG else "json",
                          ("json", "plain")),
    level=env_str("KEYLEDGER_LOG_LEVEL", "INFO"),
)

# --- Single sign-on (sso/) and provisioning (scim/), issue 15; README "Configuration" ----------
# OpenID Connect: set the issuer to turn it on. Then password sign-in is off but for the
# break-glass accounts. Groups named below give roles, re-read at each sign-in and SCIM push.
KEYLEDGER_OIDC_ISSUER = _http_url("KEYLEDGER_OIDC_ISSUER", "")
KEYLEDGER_OIDC_CLIENT_ID = env_str("KEYLEDGER_OIDC_CLIENT_ID", "").strip()
KEYLEDGER_OIDC_CLIENT_SECRET = env_str("KEYLEDGER_OIDC_CLIENT_SECRET", "")
KEYLEDGER_OIDC_SCOPES = env_list("KEYLEDGER_OIDC_SCOPES", ["openid", "email", "profile"])
KEYLEDGER_OIDC_GROUPS_CLAIM = env_str("KEYLEDGER_OIDC_GROUPS_CLAIM", "groups").strip()
KEYLEDGER_OIDC_SECURITY_GROUPS = env_list("KEYLEDGER_OIDC_SECURITY_GROUPS", [])
KEYLEDGER_OIDC_MANAGER_GROUPS = env_list("KEYLEDGER_OIDC_MANAGER_GROUPS", [])
KEYLEDGER_OIDC_CREATE_PEOPLE = env_bool("KEYLEDGER_OIDC_CREATE_PEOPLE", False)
# Entra ID sends no email_verified: trust its email claim when the claim is absent.
KEYLEDGER_OIDC_TRUST_EMAIL = env_bool("KEYLEDGER_OIDC_TRUST_EMAIL", False)
KEYLEDGER_OIDC_PROVIDER_NAME = env_str("KEYLEDGER_OIDC_PROVIDER_NAME",
                                       "your identity provider").strip()
KEYLEDGER_OIDC_TIMEOUT_SECONDS = env_float("KEYLEDGER_OIDC_TIMEOUT_SECONDS", 10.0, minimum=1.0)
KEYLEDGER_BREAK_GLASS = env_list("KEYLEDGER_BREAK_GLASS", [])
KEYLEDGER_HELP_CONTACT = env_str("KEYLEDGER_HELP_CONTACT", "the security team").strip()
if KEYLEDGER_OIDC_ISSUER and not (KEYLEDGER_OIDC_CLIENT_ID and KEYLEDGER_OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("KEYLEDGER_OIDC_ISSUER is set: KEYLEDGER_OIDC_CLIENT_ID and "
                               "KEYLEDGER_OIDC_CLIENT_SECRET must be set too.")
INSTALLED_APPS += ["sso", "scim"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "sso.backends.PasswordSignInBackend",  # Django's ModelBackend, off under OIDC but break-glass
    "sso.backends.OidcSessionBackend",
]
# SCIM bearer tokens (`manage.py create_scim_token`): at most this long-lived.
KEYLEDGER_SCIM_TOKEN_MAX_DAYS = env_int("KEYLEDGER_SCIM_TOKEN_MAX_DAYS", 365, minimum=1,
                                        maximum=730)

# --- Fewer keys (reduction/), issue 17; DESIGN.md "Fewer keys" --------------------------------
# IAM Identity Center is read in the account that holds it (management or delegated
# administrator) through a reader role (unset: ambient credentials), in its own region. The
# instance is discovered (an account has one) unless named.
KEYLEDGER_IDENTITY_CENTER_ROLE_ARN = env_str("KEYLEDGER_IDENTITY_CENTER_ROLE_ARN", "").strip()
KEYLEDGER_IDENTITY_CENTER_EXTERNAL_ID = env_str("KEYLEDGER_IDENTITY_CENTER_EXTERNAL_ID",
                                                "").strip()
KEYLEDGER_IDENTITY_CENTER_REGION = (env_str("KEYLEDGER_IDENTITY_CENTER_REGION", "").strip()
                                    or KEYLEDGER_AWS_REGION)
KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN = env_str("KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN",
                                                 "").strip()
if KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN and not KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN.startswith(
        "arn:aws"):
    raise ImproperlyConfigured(
        f"KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN={KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN!r} "
        "must be an instance ARN (arn:aws:sso:::instance/ssoins-...), or unset to discover it.")
INSTALLED_APPS += ["reduction"]
# An overdue migration plan is reminded to its owner at most once in this many days.
KEYLEDGER_PLAN_REMINDER_DAYS = env_int("KEYLEDGER_PLAN_REMINDER_DAYS", 7, minimum=1,
                                       maximum=90)
