"""The burn-down chart as SVG geometry, computed here so the template only draws it.

Server-rendered on purpose: the page works without script and under the strict
Content-Security-Policy (SVG presentation attributes, no inline style), and the table
under the chart carries the same numbers for screen readers. Two plots share the weeks: the
active keys as a line on top, and below it the keys added (up) and retired (down) as bars.
"""

from dataclasses import dataclass

from .burndown import Week

WIDTH, LEFT, RIGHT = 1200, 48, 12
LINE_TOP, LINE_HEIGHT = 16, 190
BARS_TOP, BARS_HEIGHT = LINE_TOP + LINE_HEIGHT + 28, 90
HEIGHT = BARS_TOP + BARS_HEIGHT + 26
LABEL_EVERY = 4  # a date under every fourth week


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # "added" or "retired"
    count: int
    week: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    segments: list[str]  # polyline ``points`` of the active line, split where a week has none
    dots: list[tuple[float, float, int, str]]  # x, y, active, week
    bars: list[Bar]
    labels: list[tuple[float, str]]  # x, week start
    line_max: int
    line_axis: tuple[float, float]  # y of the line plot's top and bottom
    bars_max: int
    bars_axis: float  # y of the bars' zero line
    bars_top: float
    bars_bottom: float


def _scale_max(values: list[int]) -> int:
    """A round top for the axis, at least 1."""
    top = max(values, default=0)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= step * 5:
            return max(1, -(-top // step) * step)
    return top


def burndown_chart(weeks: list[Week]) -> Chart:
    """Where each point, bar and label goes for ``weeks`` (oldest first)."""
    band = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    line_max = _scale_max([w.active for w in weeks if w.active is not None])
    bars_max = _scale_max([max(w.added, w.retired) for w in weeks])
    half = BARS_HEIGHT / 2
    zero = BARS_TOP + half
    segments: list[str] = []
    current: list[str] = []
    dots: list[tuple[float, float, int, str]] = []
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, week in enumerate(weeks):
        x = LEFT + band * (i + 0.5)
        label = week.start.isoformat()
        if week.active is None:
            if current:
                segments.append(" ".join(current))
            current = []
        else:
            y = LINE_TOP + LINE_HEIGHT * (1 - week.active / line_max)
            current.append(f"{x:.1f},{y:.1f}")
            dots.append((round(x, 1), round(y, 1), week.active, label))
        width = band * 0.35
        if week.added:
            height = half * week.added / bars_max
            bars.append(Bar(round(x - width, 1), round(zero - height, 1), round(width, 1),
                            round(height, 1), "added", week.added, label))
        if week.retired:
            height = half * week.retired / bars_max
            bars.append(Bar(round(x, 1), round(zero, 1), round(width, 1), round(height, 1),
                            "retired", week.retired, label))
        last = i == len(weeks) - 1
        if i % LABEL_EVERY == 0 or (last and i % LABEL_EVERY >= LABEL_EVERY // 2):
            labels.append((round(x, 1), label))
    if current:
        segments.append(" ".join(current))
    return Chart(WIDTH, HEIGHT, segments, dots, bars, labels, line_max,
                 (LINE_TOP, LINE_TOP + LINE_HEIGHT), bars_max, zero, BARS_TOP,
                 BARS_TOP + BARS_HEIGHT)
