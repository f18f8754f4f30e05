"""Windows of whole days back from now: the age filter, the last-use filter and the
overview's key-age chart all select dates with these, so a bar and the filter it stands for
count the same keys.

Days are counted as the rules count them (``policy.age_days``: whole days, ``now - date``).
A window names its first and last day, both included; consecutive windows split at a list of
edges, so every date falls in exactly one of them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q


@dataclass(frozen=True)
class DayWindow:
    """Dates ``first`` to ``last`` whole days ago (``last`` None: no end)."""

    first: int
    last: int | None = None

    @property
    def label(self) -> str:
        """``31-60`` or ``366+``: the filter's value and the chart's bar."""
        return f"{self.first}+" if self.last is None else f"{self.first}-{self.last}"

    def q(self, field: str, now: datetime) -> Q:
        """Rows whose ``field`` lies in this window at ``now``.

        A window from day 0 has no lower bound, so a date a little in the future (another
        clock) still falls in it; ``field`` null falls in no window.
        """
        q = Q()
        if self.first > 0:
            q &= Q(**{f"{field}__lte": now - timedelta(days=self.first)})
        if self.last is not None:
            q &= Q(**{f"{field}__gt": now - timedelta(days=self.last + 1)})
        return q or Q(**{f"{field}__isnull": False})


def split_at(*edges: int) -> tuple[DayWindow, ...]:
    """Consecutive windows ending on each edge, then one without end: ``split_at(30, 60)`` is
    0-30, 31-60 and 61+."""
    firsts = (0, *(edge + 1 for edge in edges))
    return tuple(DayWindow(first, last) for first, last in zip(firsts, (*edges, None),
                                                              strict=True))


# Key age: a month, two, the rotation warning (76) and limit (90), then the long tail.
AGE_WINDOWS = split_at(30, 60, 76, 90, 120, 180, 365)
# Wider age windows the filter has offered since before the chart's: unions of neighbouring
# chart windows, kept so that existing links and API calls still work.
WIDER_AGE_WINDOWS = (DayWindow(31, 76), DayWindow(91, 180), DayWindow(181))
LAST_USED_WINDOWS = split_at(7, 45, 90)


def by_label(*windows: DayWindow) -> dict[str, DayWindow]:
    """The windows by label, in order of their first day (the narrower one first)."""
    ordered = sorted(windows, key=lambda w: (w.first, w.last is None, w.last or 0))
    return {window.label: window for window in ordered}
