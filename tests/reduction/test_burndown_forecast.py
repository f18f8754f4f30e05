"""The burn-down's forecast and chart: weekly counts in, a date (or none) out. No database."""

from datetime import date, timedelta

import pytest

from reduction.burndown import (
    FORECAST_HORIZON_DAYS,
    Week,
    forecast,
    least_squares_slope,
    week_starts,
)
from reduction.burndown_chart import burndown_chart

TODAY = date(2026, 12, 2)  # a Wednesday


def weeks_of(*counts):
    starts = week_starts(TODAY, len(counts))
    return [Week(start, n, 0, 0) for start, n in zip(starts, counts, strict=True)]


def test_week_starts_are_mondays_oldest_first_ending_this_week():
    starts = week_starts(TODAY, 3)
    assert starts == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
    assert week_starts(date(2026, 11, 30), 1) == [date(2026, 11, 30)]  # a Monday is its own


def test_falling_reaches_the_target_at_the_fitted_pace_from_todays_count():
    result = forecast(weeks_of(100, 90, 80, 70), target=0, today=TODAY)
    assert result.pace == -10 and result.current == 70 and not result.reached
    assert result.on == TODAY + timedelta(days=49)  # 70 keys at 10 a week: 7 weeks


def test_the_target_setting_moves_the_date():
    result = forecast(weeks_of(100, 90, 80, 70), target=20, today=TODAY)
    assert result.on == TODAY + timedelta(days=35)


def test_the_pace_is_least_squares_not_the_last_step():
    # The last week rose, yet the weeks go down: -0.7 a week over the four.
    assert least_squares_slope([(0, 10), (1, 8), (2, 7), (3, 8)]) == pytest.approx(-0.7)
    result = forecast(weeks_of(10, 8, 7, 8), target=0, today=TODAY)
    assert result.on == TODAY + timedelta(days=80)  # 8 / 0.7 weeks = 11.43 weeks, ceil days


def test_flat_is_not_at_the_current_pace():
    result = forecast(weeks_of(50, 50, 50), target=0, today=TODAY)
    assert result.pace == 0 and result.on is None and not result.reached


def test_rising_is_not_at_the_current_pace():
    result = forecast(weeks_of(40, 45, 52), target=0, today=TODAY)
    assert result.pace is not None and result.pace > 0
    assert result.on is None and not result.reached


def test_at_or_below_the_target_is_reached():
    assert forecast(weeks_of(5, 3, 0), target=0, today=TODAY).reached
    reached = forecast(weeks_of(30, 20, 10), target=10, today=TODAY)
    assert reached.reached and reached.on is None and reached.current == 10
    assert not forecast(weeks_of(30, 20, 11), target=10, today=TODAY).reached


def test_empty_history_has_no_count_and_no_date():
    result = forecast([], target=0, today=TODAY)
    assert (result.current, result.pace, result.reached, result.on) == (None, None, False, None)
    gaps = [Week(start, None, 0, 0) for start in week_starts(TODAY, 4)]
    assert forecast(gaps, target=0, today=TODAY).current is None


def test_one_week_is_too_few_to_tell_a_pace():
    result = forecast(weeks_of(12), target=0, today=TODAY)
    assert result.current == 12 and result.pace is None and result.on is None


def test_weeks_without_a_snapshot_are_left_out_of_the_fit():
    weeks = weeks_of(100, 0, 80, 70)
    weeks[1] = Week(weeks[1].start, None, 0, 0)
    assert forecast(weeks, target=0, today=TODAY).pace == -10


def test_only_the_last_weeks_set_the_pace():
    # Rising long ago, falling lately: the last three weeks decide.
    result = forecast(weeks_of(10, 50, 90, 80, 70), target=0, today=TODAY, over=3)
    assert result.pace == -10 and result.on == TODAY + timedelta(days=49)


def test_a_pace_too_slow_to_matter_has_no_date():
    # One key a week off a million: further than the horizon.
    assert forecast(weeks_of(1_000_001, 1_000_000), target=0, today=TODAY).on is None
    assert FORECAST_HORIZON_DAYS < 1_000_000 * 7


def test_the_chart_draws_a_point_per_counted_week_and_a_bar_per_change():
    weeks = [Week(start, n, added, retired) for start, n, added, retired in zip(
        week_starts(TODAY, 4), (9, None, 7, 4), (2, 0, 0, 1), (0, 0, 2, 4), strict=True)]
    chart = burndown_chart(weeks)
    assert [n for _x, _y, n, _w in chart.dots] == [9, 7, 4]
    assert len(chart.segments) == 2  # the week without a count breaks the line
    assert [(b.kind, b.count) for b in chart.bars] == [
        ("added", 2), ("retired", 2), ("added", 1), ("retired", 4)]
    ys = [y for _x, y, _n, _w in chart.dots]
    assert ys == sorted(ys)  # fewer keys, lower on the chart (larger y)
    assert chart.bars[1].height == 2 * chart.bars[0].height / 2  # same count, same height
    assert chart.bars[3].height > chart.bars[1].height
