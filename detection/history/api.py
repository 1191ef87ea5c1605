"""Read-only history API for people (session auth, dashboard role): readings, status changes and the
stock-out report, each paginated, each range at most MAX_RANGE. Bad input answers 400 with a `detail`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import IsAuthenticated

from detection.history import selectors
from detection.history.models import Reading, StatusChange
from detection.history.ranges import MAX_RANGE, RangeError, TimeRange, parse_range
from detection.rest import BadRequest, CanViewStock
from devices.models import Camera


def camera_from(params, *, required: bool) -> Camera | None:
    slug = (params.get("camera") or "").strip()
    if not slug:
        if required:
            raise BadRequest("camera is required (a camera slug).")
        return None
    camera = Camera.objects.filter(slug=slug).first()
    if camera is None:
        raise BadRequest(f"Unknown camera {slug[:50]!r}.")
    return camera


def range_from(params, default: str = "24h") -> TimeRange:
    try:
        return parse_range(params, default=default)
    except RangeError as exc:
        raise BadRequest(str(exc)) from None


RANGE_PARAMETERS = [
    OpenApiParameter("range", str, enum=["24h", "7d", "30d", "custom"],
                     description="Ending now (default 24h; 7d for the stock-out report); `custom` (or just "
                                 "start/end, which win over a preset) for a fixed range."),
    OpenApiParameter("start", str, description="ISO 8601 date or date-time; naive means the server's TIME_ZONE."),
    OpenApiParameter("end", str, description=f"ISO 8601; a date includes that day. At most {MAX_RANGE.days} "
                                             "days after start."),
]
CAMERA = OpenApiParameter("camera", str, description="Camera slug.")


class ReadingOutput(serializers.ModelSerializer):
    class Meta:
        model = Reading
        fields = ["minute", "first_count", "last_count", "min_count", "max_count", "median_count", "frames",
                  "status", "seconds_critical", "seconds_warning", "seconds_full", "seconds_fault"]


class StatusChangeOutput(serializers.ModelSerializer):
    camera = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = StatusChange
        fields = ["camera", "at", "from_status", "to_status"]


class StockoutOutput(serializers.Serializer):
    camera = serializers.CharField()
    camera_name = serializers.CharField()
    period_start = serializers.DateField(help_text="The day, or the Monday of the week, in TIME_ZONE.")
    minutes_critical = serializers.FloatField()
    stockouts = serializers.IntegerField(help_text="Times CRITICAL was entered.")
    longest_min = serializers.FloatField(help_text="Longest stock-out that began in the period, in minutes.")
    median_recover_min = serializers.FloatField(allow_null=True, help_text="Median CRITICAL -> WARNING/FULL time.")


class ByMinute(CursorPagination):
    ordering = "minute"
    page_size = 360
    page_size_query_param = "page_size"
    max_page_size = 1440


class ByMoment(CursorPagination):
    ordering = ("at", "id")
    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 1000


class ByRow(PageNumberPagination):
    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 1000


class HistoryView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, CanViewStock]


@extend_schema(tags=["history"], parameters=[OpenApiParameter("camera", str, required=True,
                                                              description="Camera slug."), *RANGE_PARAMETERS])
class ReadingsView(HistoryView):
    """One camera's per-minute readings (oldest first): counts, frames, status, seconds per status."""

    serializer_class = ReadingOutput
    pagination_class = ByMinute

    def get_queryset(self):
        params = self.request.query_params
        camera = camera_from(params, required=True)
        return selectors.readings(camera=camera, window=range_from(params))


@extend_schema(tags=["history"], parameters=[CAMERA, *RANGE_PARAMETERS])
class StatusChangesView(HistoryView):
    """Exact status changes (all cameras, or one), oldest first."""

    serializer_class = StatusChangeOutput
    pagination_class = ByMoment

    def get_queryset(self):
        params = self.request.query_params
        return selectors.status_changes(camera=camera_from(params, required=False), window=range_from(params))


@extend_schema(tags=["history"], parameters=[
    CAMERA, OpenApiParameter("period", str, enum=["day", "week"], description="Default day."), *RANGE_PARAMETERS])
class StockoutReportView(HistoryView):
    """Per camera and day or week: minutes in CRITICAL, stock-outs, the longest, median time to recover."""

    serializer_class = StockoutOutput
    pagination_class = ByRow

    def get_queryset(self):
        params = self.request.query_params
        return [row.as_dict() for row in stockout_rows(params)]


def period_from(params) -> str:
    period = params.get("period") or "day"
    if period not in ("day", "week"):
        raise BadRequest(f"period: {period[:20]!r} is not day or week.")
    return period


def stockout_rows(params) -> list[selectors.StockoutRow]:
    """Shared with the report page and its CSV (they turn BadRequest into a 400 page)."""
    period = period_from(params)
    camera = camera_from(params, required=False)
    return selectors.stockout_report(window=range_from(params, default="7d"), period=period, camera=camera)
