"""A message before it is sent: who, about what, for which period, what to do and where.

Every message carries one action and the absolute address of the page where it is done,
built from ``KEYLEDGER_BASE_URL`` (a scheduled task has no request to take a host from).
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.conf import settings

from .models import Kind

if TYPE_CHECKING:
    from accounts.models import Person


def absolute_url(path: str) -> str:
    """``path`` (from ``reverse``) on the address people reach Keyledger at."""
    return settings.KEYLEDGER_BASE_URL.rstrip("/") + path


def iso_week(day: date) -> str:
    """The period of weekly reminders, e.g. ``2025-W48``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month(day: date) -> str:
    return f"{day:%Y-%m}"


def day_of(moment: datetime | date) -> str:
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


@dataclass(frozen=True)
class Message:
    """One message to compose. ``recipient`` None means the team chat channel.

    ``digest`` marks mail a person may opt out of; reminders about their own keys and
    critical findings never are.
    """

    recipient: "Person | None"
    kind: Kind
    subject: str
    period: str
    title: str
    lines: tuple[str, ...]
    action: str
    path: str
    digest: bool = False

    @property
    def url(self) -> str:
        return absolute_url(self.path)

    @property
    def claim(self) -> tuple:
        """What makes this message the same as one already sent."""
        return (getattr(self.recipient, "pk", None), str(self.kind), self.subject, self.period)
