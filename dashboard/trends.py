"""History pages: a camera's trends (chart data as JSON, readings as CSV) and the stock-out report
(page and CSV). Thin: ranges and reads come from detection.history."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.views import may_view
from detection.history import selectors as history
from detection.history.api import stockout_rows
from detection.history.ranges import MAX_RANGE, PRESETS, RangeError, TimeRange, day_start, local_date, parse_range
from detection.models import StockState
from detection.rest import BadRequest
from devices.models import Camera

# The status timeline's colours (the legend and trends.js draw with the same ones).
TIMELINE_COLOURS = {"CRITICAL": "#ef4444", "WARNING": "#f59e0b", "FULL": "#10b981", "FAULT": "#7f1d1d",
                    "OFFLINE": "#475569", "WAITING": "#94a3b8"}
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


def _camera(slug: str) -> Camera:
    camera = Camera.objects.filter(slug=slug).first()
    if camera is None:
        raise Http404("No such camera.")
    return camera


def _levels(camera: Camera) -> tuple[int, int]:
    state = StockState.objects.filter(camera=camera).first() or StockState()
    return state.critical_level, state.target_capacity


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(_cell(value) for value in row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()  # the site's zone, its offset written out
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


@login_required
@may_view
@require_GET
def camera_trends(request: HttpRequest, slug: str) -> HttpResponse:
    """Count over time with the critical and target levels, status timeline, CRITICAL per day."""
    camera = _camera(slug)
    context = {"camera": camera, "presets": list(PRESETS), "max_days": MAX_RANGE.days, "params": request.GET,
               "legend": list(TIMELINE_COLOURS.items()), "legend_json": json.dumps(TIMELINE_COLOURS)}
    try:
        window = parse_range(request.GET)
    except RangeError as exc:
        return render(request, "dashboard/trends.html", {**context, "error": str(exc)}, status=400)
    context.update(window=window, query=request.GET.urlencode())
    return render(request, "dashboard/trends.html", context)


@login_required
@may_view
@require_GET
def camera_trends_data(request: HttpRequest, slug: str) -> JsonResponse:
    """What the chart draws (fetched again on each new frame while the range ends now)."""
    camera = _camera(slug)
    try:
        window = parse_range(request.GET)
    except RangeError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse(trends_data(camera, window))


def trends_data(camera: Camera, window: TimeRange) -> dict:
    critical, target = _levels(camera)
    cameras = Camera.objects.filter(pk=camera.pk)
    by_camera = history.timelines(cameras=cameras, window=window, camera=camera)
    # Nothing was watched before the camera existed: the timeline starts there, not as WAITING.
    since = camera.created_at
    segments = [s for s in by_camera.get(camera.pk, []) if s.end > since]
    per_day = [row for row in history.stockout_report(window=window, period="day", camera=camera,
                                                      segments_by_camera=by_camera)
               if row.period_start >= local_date(since)]
    return {
        "camera": camera.slug, "start": window.start.isoformat(), "end": window.end.isoformat(), "live": window.live,
        "critical_level": critical, "target_capacity": target,
        "series": history.chart_series(camera=camera, window=window),
        "camera_since": since.isoformat(), "time_zone": str(timezone.get_current_timezone()),
        "timeline": [{"start": max(s.start, since).isoformat(), "end": s.end.isoformat(), "status": s.status}
                     for s in segments],
        "critical_per_day": [{"day": row.period_start.isoformat(), "minutes": round(row.minutes_critical, 1),
                              "stockouts": row.stockouts} for row in per_day],
        "generated_at": timezone.now().isoformat(),
    }


@login_required
@may_view
@require_GET
def camera_readings_csv(request: HttpRequest, slug: str) -> HttpResponse:
    camera = _camera(slug)
    try:
        window = parse_range(request.GET)
    except RangeError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    fields = ["minute", "first_count", "last_count", "min_count", "max_count", "median_count", "frames", "status",
              "seconds_critical", "seconds_warning", "seconds_full", "seconds_fault"]
    rows = history.readings(camera=camera, window=window).values_list(*fields).iterator(chunk_size=2000)
    name = f"{camera.slug}-readings-{window.start:%Y%m%dT%H%M}-{window.end:%Y%m%dT%H%M}.csv"
    return _csv_response(name, fields, rows)


@login_required
@may_view
@require_GET
def stockout_report(request: HttpRequest) -> HttpResponse:
    """Per camera and day/week: minutes in CRITICAL, stock-outs, longest, median time to recover.
    `?format=csv` downloads the same rows."""
    params = request.GET
    context = {"params": params, "presets": list(PRESETS), "period": params.get("period") or "day",
               "cameras": Camera.objects.filter(is_active=True).order_by("name", "slug")}
    try:
        rows = stockout_rows(params)
    except BadRequest as exc:
        if params.get("format") == "csv":
            return HttpResponse(str(exc.detail), status=400, content_type="text/plain; charset=utf-8")
        return render(request, "dashboard/stockouts.html", {**context, "error": str(exc.detail)}, status=400)
    context["show_empty"] = show_empty = params.get("empty") == "1"
    rows = _report_rows(rows, period=context["period"], show_empty=show_empty)
    if params.get("format") == "csv":
        header = ["camera", "camera_name", "period_start", "minutes_critical", "stockouts", "longest_min",
                  "median_recover_min"]
        data = ([row.as_dict()[key] for key in header] for row in rows)
        return _csv_response(f"stockouts-{context['period']}.csv", header, data)
    csv_query = params.copy()
    csv_query["format"] = "csv"
    empty_query = params.copy()
    if show_empty:
        empty_query.pop("empty", None)
    else:
        empty_query["empty"] = "1"
    context.update(rows=rows, csv_query=csv_query.urlencode(), empty_query=empty_query.urlencode())
    return render(request, "dashboard/stockouts.html", context)


def _report_rows(rows: list, *, period: str, show_empty: bool) -> list:
    """Drop the periods that ended before a camera existed (nothing was watched: not "0 minutes") and,
    unless asked for, the camera × period rows without a minute in CRITICAL."""
    since = {slug: local_date(at) for slug, at in Camera.objects.values_list("slug", "created_at")}
    span = timedelta(days=7 if period == "week" else 1)
    kept = [row for row in rows if row.camera not in since or row.period_start + span > since[row.camera]]
    if not show_empty:
        kept = [row for row in kept if row.stockouts or row.minutes_critical >= 0.05]
    return kept


TODAY_LIMIT = 5


@login_required
@may_view
@require_GET
def stockouts_today(request: HttpRequest) -> HttpResponse:
    """The dashboard's compact view: the cameras longest in CRITICAL since midnight (server time)."""
    now = timezone.now()
    start = day_start(now)
    window = TimeRange(start, max(now, start + timedelta(minutes=1)))
    rows = [row for row in history.stockout_report(window=window, period="day")
            if row.minutes_critical >= 0.5 or row.stockouts]
    rows.sort(key=lambda row: (-row.minutes_critical, -row.stockouts))
    return render(request, "dashboard/stockouts.html#today", {"rows": rows[:TODAY_LIMIT]})
