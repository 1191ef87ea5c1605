"""Time ranges from query parameters, shared by the pages, the CSV downloads and the API, so bad
input gets the same 400 reason everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

# 1h and 6h: a camera added this morning fills the chart instead of being a sliver at its right edge.
PRESETS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24), "7d": timedelta(days=7),
           "30d": timedelta(days=30)}
MAX_RANGE = timedelta(days=92)  # a quarter: longer asks are refused, not silently cut
# Moments outside these years are refused: at the calendar's ends (0001, 9999) the day after, a time
# zone's offset or a week's bucket overflow Python's datetime (OverflowError, a 500).
FIRST_YEAR, LAST_YEAR = 1970, 9000


class RangeError(ValueError):
    """Bad range input; str() is the reason shown to the user (400)."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    preset: str = ""  # "1h"/"6h"/"24h"/"7d"/"30d" when the range ends now (and follows it live), "" for custom

    @property
    def live(self) -> bool:
        return bool(self.preset)

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def _moment(name: str, value: str, *, end: bool) -> datetime:
    """ISO 8601 date-time (naive = the server's TIME_ZONE) or date (its midnight; an end date includes that day)."""
    value = value.strip()
    try:
        day = parse_date(value)  # first: a bare date also parses as a date-time (its midnight)
        moment = None if day else parse_datetime(value)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise RangeError(f"{name}: {value[:40]!r} is not an ISO 8601 date (2026-11-20) or date-time "
                         f"(2026-11-20T08:00:00Z).")
    year = (day or moment).year
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise RangeError(f"{name}: {value[:40]!r} is not between the years {FIRST_YEAR} and {LAST_YEAR}.")
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def parse_range(params, *, default: str = "24h", now: datetime | None = None,
                max_range: timedelta = MAX_RANGE) -> TimeRange:
    """`range=1h|6h|24h|7d|30d` (ending now) or `start` and `end` (custom: given dates win over a preset, as
    in a form whose range menu was left alone); RangeError says what is wrong."""
    now = now or timezone.now()
    start, end = params.get("start") or "", params.get("end") or ""
    preset = params.get("range") or default
    if preset not in PRESETS and preset != "custom":
        raise RangeError(f"range: {preset[:20]!r} is not one of {', '.join(PRESETS)}, custom.")
    if preset in PRESETS and not (start or end):
        return TimeRange(start=now - PRESETS[preset], end=now, preset=preset)
    if not start or not end:
        raise RangeError("A custom range needs both start and end.")
    window = TimeRange(start=_moment("start", start, end=False), end=_moment("end", end, end=True))
    if window.end <= window.start:
        raise RangeError("end must be after start.")
    if window.span > max_range:
        raise RangeError(f"The range is {window.span.days} days; at most {max_range.days} days at a time.")
    return window


def day_start(moment: datetime) -> datetime:
    """Midnight before `moment` in the server's TIME_ZONE."""
    local = timezone.localtime(moment)
    return timezone.make_aware(datetime.combine(local.date(), time.min))


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()
