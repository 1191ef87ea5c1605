"""The stock-out report and the chart series, from a hand-made timeline whose answers are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detection.history.models import Reading, StatusChange
from detection.history.ranges import RangeError, TimeRange, parse_range
from detection.history.selectors import chart_series, stockout_report

D = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return D + timedelta(hours=hours)


@pytest.fixture
def dock(camera_with_key):
    camera, _ = camera_with_key()
    timeline = [
        (-1, "WAITING", "FULL"),            # the day before: FULL when the range starts
        (8, "FULL", "CRITICAL"), (8.5, "CRITICAL", "WARNING"),                         # 30 min out
        (12, "WARNING", "CRITICAL"), (12 + 10 / 60, "CRITICAL", "OFFLINE"),            # 10 min CRITICAL,
        (12 + 50 / 60, "OFFLINE", "CRITICAL"), (13.5, "CRITICAL", "FULL"),             # 40 more: 90 to recover
        (23.5, "FULL", "CRITICAL"),                                                     # still out at the end
    ]
    StatusChange.objects.bulk_create(
        StatusChange(camera=camera, at=at(hours), from_status=old, to_status=new) for hours, old, new in timeline
    )
    return camera


def test_it_reports_minutes_count_longest_and_median_recovery_per_day(dock):
    rows = stockout_report(window=TimeRange(at(0), at(25)), period="day", camera=dock)
    first, second = (row.as_dict() for row in rows)
    # OFFLINE in the middle neither ends the 12:00 stock-out nor counts as CRITICAL time.
    assert first == {"camera": "dock-1", "camera_name": "Dock 1", "period_start": D.date(),
                     "minutes_critical": 30 + 50 + 30, "stockouts": 3, "longest_min": 90.0,
                     "median_recover_min": 60.0}
    # The 23:30 stock-out belongs to the day it began; the next day has its minutes only.
    assert (second["period_start"], second["minutes_critical"], second["stockouts"]) == (
        (D + timedelta(days=1)).date(), 60.0, 0)


def test_a_week_adds_its_days_up(dock):
    (week,) = stockout_report(window=TimeRange(at(0), at(25)), period="week", camera=dock)
    assert (week.period_start, round(week.minutes_critical), week.stockouts) == (D.date(), 170, 3)


def test_a_stock_out_under_way_at_the_start_adds_minutes_but_is_not_counted(dock):
    (row,) = stockout_report(window=TimeRange(at(8.25), at(9)), period="day", camera=dock)
    assert (row.minutes_critical, row.stockouts, row.median_recover_min) == (15.0, 0, None)


def test_a_camera_without_history_reports_zeros_for_every_day(camera_with_key):
    camera, _ = camera_with_key(slug="quiet")
    rows = stockout_report(window=TimeRange(D, D + timedelta(days=7)), period="day", camera=camera)
    assert [row.stockouts for row in rows] == [0] * 7 and {row.minutes_critical for row in rows} == {0.0}


def test_the_chart_thins_long_ranges_to_max_points_with_min_and_max_kept(camera_with_key):
    camera, _ = camera_with_key()
    start = D
    Reading.objects.bulk_create(
        Reading(camera=camera, minute=start + timedelta(minutes=i), median_count=10, min_count=10 - (i == 777),
                max_count=10 + (i == 999) * 30, frames=1, status="WARNING")
        for i in range(2 * 1440)
    )
    # Two days at 100 points (a month at the default 1500 is the same arithmetic, 29-minute buckets).
    series = chart_series(camera=camera, window=TimeRange(start, start + timedelta(days=2)), max_points=100)
    assert len(series["t"]) <= 100 and series["bucket_s"] == 29 * 60
    assert min(series["min"]) == 9 and max(series["max"]) == 40  # one odd minute still shows
    assert set(series["count"]) == {10.0}


def test_a_gap_without_frames_breaks_the_line(camera_with_key):
    camera, _ = camera_with_key()
    for minute in (0, 1, 5):
        Reading.objects.create(camera=camera, minute=D + timedelta(minutes=minute), median_count=3, min_count=3,
                               max_count=3, frames=1, status="CRITICAL")
    series = chart_series(camera=camera, window=TimeRange(D, D + timedelta(hours=1)))
    assert series["count"] == [3, 3, None, 3]


@pytest.mark.parametrize("params,reason", [
    ({"start": "2026-11-05", "end": "2026-11-01"}, "end must be after start"),
    ({"start": "2026-01-01", "end": "2026-11-01"}, "at most 92 days"),
    ({"start": "yesterday", "end": "2026-11-01"}, "not an ISO 8601"),
    ({"start": "2026-11-01"}, "needs both start and end"),
    ({"range": "1y"}, "not one of 1h, 6h, 24h, 7d, 30d, custom"),
])
def test_bad_ranges_say_what_is_wrong(params, reason):
    with pytest.raises(RangeError, match=reason):
        parse_range(params)


def test_an_end_date_includes_that_whole_day():
    window = parse_range({"start": "2026-11-02", "end": "2026-11-02"})
    assert (window.start, window.end, window.live) == (D, D + timedelta(days=1), False)


def test_dates_win_over_a_preset_left_in_a_form():
    window = parse_range({"range": "7d", "start": "2026-11-02", "end": "2026-11-03"})
    assert (window.start, window.span, window.live) == (D, timedelta(days=2), False)


def test_days_are_the_server_time_zone_days(camera_with_key, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+1 in November
    camera, _ = camera_with_key(slug="berlin")
    StatusChange.objects.bulk_create([
        StatusChange(camera=camera, at=at(22.5), from_status="WARNING", to_status="CRITICAL"),  # 23:30 local
        StatusChange(camera=camera, at=at(23.5), from_status="CRITICAL", to_status="WARNING"),  # 00:30 local
    ])
    rows = stockout_report(window=TimeRange(at(12), at(36)), period="day", camera=camera)
    assert [(str(row.period_start), row.minutes_critical, row.stockouts) for row in rows] == [
        ("2026-11-02", 30.0, 1), ("2026-11-03", 30.0, 0)]
