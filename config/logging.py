"""Log configuration: JSON lines for log collectors in production, plain text in development.

A JSON line carries the message and every ``extra={...}`` field the caller attached, so a
log search can filter on ``action`` or ``account_id`` instead of parsing sentences.
"""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items()
                        if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def logging_config(*, log_format: str, level: str) -> dict:
    """Everything goes to stderr through one handler on the root logger (Celery included).

    botocore logs request bodies at DEBUG, which include STS credentials: never below
    WARNING. Django's own loggers lose their default handlers and reach the root's, so
    server errors are logged in the same format.
    """
    formatter = ({"()": "config.logging.JsonFormatter"} if log_format == "json"
                 else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "keyledger": {"level": level},
            "celery": {"level": "INFO"},
            "django": {"level": "INFO"},
            "botocore": {"level": "WARNING"},
        },
    }
