"""Reading history: the chart series, the status timeline and the stock-out report.

Bounded work: one camera's chart groups its minutes in the range into at most MAX_POINTS buckets in
SQL, from the covering reading_chart index; the stock-out report reads only status changes (a few
per camera per day), never the per-minute readings, so all cameras x 7 days stays cheap.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, BigIntegerField, Func, Max, Min, OuterRef, QuerySet, Subquery, Sum, Value
from django.utils import timezone

from detection.history.models import Reading, StatusChange
from detection.history.ranges import TimeRange, local_date
from devices.models import Camera

MAX_POINTS = 1500  # a chart is ~1500 px wide: more points draw nothing more
RECOVERED = ("WARNING", "FULL")


def readings(*, camera: Camera, window: TimeRange) -> QuerySet[Reading]:
    return Reading.objects.filter(camera=camera, minute__gte=window.start, minute__lt=window.end).order_by("minute")


def status_changes(*, camera: Camera | None, window: TimeRange) -> QuerySet[StatusChange]:
    changes = StatusChange.objects.filter(at__gte=window.start, at__lt=window.end).select_related("camera")
    if camera is not None:
        changes = changes.filter(camera=camera)
    return changes.order_by("at", "id")


class EpochSeconds(Func):
    """A datetime column as whole seconds since 1970 (UTC), in SQL: the chart groups in the database."""

    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is cheaper than strftime('%s'); rounded, as days * 86400 is not exact in floating point.
        template = "CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS BIGINT)",
                           **extra)


def chart_series(*, camera: Camera, window: TimeRange, max_points: int = MAX_POINTS) -> dict:
    """Count over time: per point its start (unix s), the mean of its minutes' median counts, min and
    max; at most max_points points (a minute each, or wider buckets for long ranges, grouped in the
    database so a month is ~1500 rows, not 43200). Minutes without frames are gaps (null).
    `frames`: how many frames the range holds."""
    span_min = max(1, int(window.span.total_seconds() // 60))
    bucket = 60 * max(1, -(-span_min // max_points))
    origin = int(window.start.timestamp())  # buckets counted from the range's start: at most max_points
    rows = (
        readings(camera=camera, window=window).order_by()
        .annotate(bucket=(EpochSeconds("minute") - Value(origin)) / Value(bucket))
        .values("bucket")
        .annotate(count=Avg("median_count"), low=Min("min_count"), high=Max("max_count"), frames=Sum("frames"))
        .order_by("bucket")
        .values_list("bucket", "count", "low", "high", "frames")
    )
    points: list[tuple] = []
    frames_total = 0
    for index, count, low, high, frames in rows:
        key = origin + index * bucket
        if points and key - points[-1][0] > bucket:  # no frames for a while: a gap, not a line
            points.append((points[-1][0] + bucket, None, None, None))
        points.append((key, None if count is None else round(count, 1), low, high))
        frames_total += frames
    columns = list(zip(*points)) or [(), (), (), ()]
    return {"bucket_s": bucket, "frames": frames_total, "t": list(columns[0]), "count": list(columns[1]),
            "min": list(columns[2]), "max": list(columns[3])}


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    status: str

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def _status_before(cameras: QuerySet[Camera], moment: datetime) -> dict[int, str]:
    """Each camera's status at `moment`: the newest change before it (one query, one index probe each)."""
    newest = StatusChange.objects.filter(camera=OuterRef("pk"), at__lt=moment).order_by("-at", "-id")
    rows = cameras.annotate(before=Subquery(newest.values("to_status")[:1])).values_list("pk", "before")
    return {pk: before or "" for pk, before in rows}


def _segments(first: str, changes: list[tuple[datetime, str, str]], start: datetime, end: datetime) -> list[Segment]:
    """Consecutive status segments covering [start, end) from the status at start and the changes in it."""
    status = first or (changes[0][1] if changes else "WAITING")
    out, at = [], start
    for moment, _, to_status in changes:
        if moment > at:
            out.append(Segment(at, moment, status))
        at, status = max(at, moment), to_status
    if end > at:
        out.append(Segment(at, end, status))
    return out


def timelines(
    *, cameras: QuerySet[Camera], window: TimeRange, camera: Camera | None = None
) -> dict[int, list[Segment]]:
    """Per camera: its status segments over the window (up to now, when the window ends later).
    With ``camera``, just that one, through the (camera, at) index."""
    end = min(window.end, timezone.now())
    before = _status_before(cameras, window.start)
    changes: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    query = StatusChange.objects.filter(at__gte=window.start, at__lt=end)
    if camera is not None:
        query = query.filter(camera_id=camera.pk)
    for camera_id, at, from_status, to_status in query.order_by("at", "id").values_list(
        "camera_id", "at", "from_status", "to_status"
    ):
        changes[camera_id].append((at, from_status, to_status))
    return {pk: _segments(status, changes.get(pk, []), window.start, end) for pk, status in before.items()}


@dataclass
class StockoutRow:
    camera: str
    camera_name: str
    period_start: date
    minutes_critical: float = 0.0
    stockouts: int = 0
    longest_min: float = 0.0
    recover_min: list[float] | None = None

    @property
    def median_recover_min(self) -> float | None:
        return round(statistics.median(self.recover_min), 1) if self.recover_min else None

    def as_dict(self) -> dict:
        return {"camera": self.camera, "camera_name": self.camera_name, "period_start": self.period_start,
                "minutes_critical": round(self.minutes_critical, 1), "stockouts": self.stockouts,
                "longest_min": round(self.longest_min, 1), "median_recover_min": self.median_recover_min}


class Calendar:
    """The window's local days, computed once: the day or week a moment (epoch seconds) falls in, and
    a span cut at local midnights, by bisecting a list (per-moment time zone calls and datetime
    arithmetic cost more than the rest of the report)."""

    def __init__(self, window: TimeRange, period: str) -> None:
        first, last = local_date(window.start), local_date(window.end)
        days = [first + timedelta(days=i) for i in range((last - first).days + 2)]
        self.midnights = [timezone.make_aware(datetime.combine(day, time.min)).timestamp() for day in days]
        self.periods_by_day = [day - timedelta(days=day.weekday()) if period == "week" else day for day in days]
        self.periods = sorted(set(self.periods_by_day[self._index(window.start.timestamp()):
                                                      self._index(window.end.timestamp() - 1e-6) + 1]))

    def _index(self, moment: float) -> int:
        return max(0, bisect_right(self.midnights, moment) - 1)

    def period_of(self, moment: float) -> date:
        return self.periods_by_day[self._index(moment)]

    def split(self, start: float, end: float):
        """(period, seconds) of [start, end) cut at each local midnight."""
        index = self._index(start)
        while start < end:
            following = self.midnights[index + 1] if index + 1 < len(self.midnights) else end
            cut = min(end, following)
            yield self.periods_by_day[index], cut - start
            start, index = cut, index + 1


Run = tuple[float, float, str]  # start, end (epoch seconds), status


def _runs_from_changes(cameras: QuerySet[Camera], window: TimeRange, camera: Camera | None) -> dict[int, list[Run]]:
    """Like timelines(), in epoch seconds straight from SQL (no datetime per change: the report
    for all cameras reads tens of thousands of them)."""
    end = min(window.end, timezone.now()).timestamp()
    start = window.start.timestamp()
    before = _status_before(cameras, window.start)
    changes: dict[int, list[tuple[float, str, str]]] = defaultdict(list)
    query = StatusChange.objects.filter(at__gte=window.start, at__lt=min(window.end, timezone.now()))
    if camera is not None:
        query = query.filter(camera_id=camera.pk)
    rows = query.annotate(ts=EpochSeconds("at")).order_by("at", "id").values_list(
        "camera_id", "ts", "from_status", "to_status")
    for camera_id, ts, from_status, to_status in rows:
        changes[camera_id].append((float(ts), from_status, to_status))
    runs = {}
    for pk, first in before.items():
        mine = changes.get(pk, [])
        status = first or (mine[0][1] if mine else "WAITING")
        out, at = [], start
        for moment, _, to_status in mine:
            if moment > at:
                out.append((at, moment, status))
            at, status = max(at, moment), to_status
        if end > at:
            out.append((at, end, status))
        runs[pk] = out
    return runs


def stockout_report(*, window: TimeRange, period: str = "day", camera: Camera | None = None,
                    segments_by_camera: dict[int, list[Segment]] | None = None) -> list[StockoutRow]:
    """Per camera and day (or ISO week, Monday first, in TIME_ZONE): minutes in CRITICAL, stock-outs
    (CRITICAL entered; FAULT/OFFLINE in between neither end one nor start another), the longest one
    and the median time to recover (CRITICAL entered -> WARNING/FULL) of those that recovered in the
    range. A stock-out under way when the range starts adds its minutes but is not counted or timed.
    ``segments_by_camera``: timelines already read for this window (the trends page draws them too)."""
    cameras = Camera.objects.filter(pk=camera.pk) if camera else Camera.objects.filter(is_active=True)
    cameras = cameras.order_by("name", "slug")
    names = {pk: (slug, name) for pk, slug, name in cameras.values_list("pk", "slug", "name")}
    calendar = Calendar(window, period)
    if segments_by_camera is None:
        runs_by_camera = _runs_from_changes(cameras, window, camera)
    else:
        runs_by_camera = {pk: [(s.start.timestamp(), s.end.timestamp(), s.status) for s in segments]
                          for pk, segments in segments_by_camera.items()}
    rows: list[StockoutRow] = []
    for pk, (slug, name) in names.items():
        mine = {p: StockoutRow(slug, name, p, recover_min=[]) for p in calendar.periods}
        _count_stockouts(runs_by_camera.get(pk, []), mine, calendar)
        rows.extend(mine.values())
    return rows


def _count_stockouts(runs: list[Run], mine: dict[date, StockoutRow], calendar: Calendar) -> None:
    open_at: float | None = runs[0][0] if runs and runs[0][2] == "CRITICAL" else None
    counted = False  # the open stock-out began inside the range
    for start, end, status in runs:
        if status == "CRITICAL":
            for period, seconds in calendar.split(start, end):
                if period in mine:
                    mine[period].minutes_critical += seconds / 60
            if open_at is None:
                open_at, counted = start, True
                mine[calendar.period_of(open_at)].stockouts += 1
        elif status in RECOVERED and open_at is not None:
            if counted:
                row = mine[calendar.period_of(open_at)]
                took = (start - open_at) / 60
                row.recover_min.append(took)
                row.longest_min = max(row.longest_min, took)
            open_at = None
    if open_at is not None and counted:  # still out at the end: as long as seen so far
        row = mine[calendar.period_of(open_at)]
        row.longest_min = max(row.longest_min, (runs[-1][1] - open_at) / 60)
