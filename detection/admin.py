from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from detection.models import AlertDelivery, AlertWebhook, DetectionEvent, StockState
from detection.services import stock_thresholds_update, stock_zones_update


class StockStateInline(admin.StackedInline):
    """Thresholds on the camera page: where managers calibrate."""

    model = StockState
    can_delete = False
    fields = ("critical_level", "target_capacity", "smoothing_window", "raw_count", "smoothed_count",
              "count_status", "fault", "last_frame_at")
    readonly_fields = ("raw_count", "smoothed_count", "count_status", "fault", "last_frame_at")
    verbose_name_plural = "stock thresholds"


@admin.register(StockState)
class StockStateAdmin(admin.ModelAdmin):
    list_display = ("camera", "critical_level", "target_capacity", "smoothing_window", "smoothed_count",
                    "count_status", "fault", "last_frame_at")
    list_editable = ("critical_level", "target_capacity", "smoothing_window")
    search_fields = ("camera__name", "camera__slug")
    readonly_fields = ("camera", "raw_count", "smoothed_count", "count_status", "fault", "fault_since",
                       "last_frame_at")

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, so the status is re-evaluated and dashboards update at once.
        stock_thresholds_update(camera=obj.camera, critical_level=obj.critical_level,
                                target_capacity=obj.target_capacity, smoothing_window=obj.smoothing_window)
        if "zones" in form.changed_data:  # validated by StockState.clean; counted again at once
            stock_zones_update(camera=obj.camera, zones=obj.zones)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log written by the product, never by hand: listed and searched, not added, edited or deleted."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DetectionEvent)
class DetectionEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "camera", "raw_count", "smoothed_count", "status", "fault", "inference_ms",
                    "captured_at")
    list_filter = ("camera", "status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("camera__name", "camera__slug")
    date_hierarchy = "created_at"
    list_select_related = ("camera",)
    # The stored file's own URL would be /media/... (not served) or a presigned S3 link: the frame is
    # shown through the dashboard's permission-checked view instead.
    exclude = ("image",)
    readonly_fields = ("frame",)

    @admin.display(description="frame")
    def frame(self, obj: DetectionEvent) -> str:
        if not obj.image:
            return "-"
        url = reverse("dashboard:event-image", args=[obj.camera.slug, obj.pk])
        return format_html('<a href="{}"><img src="{}" alt="frame" style="max-width: 32rem"></a>', url, url)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    """The outbox, read-only: what was sent, to whom, and how it went. Rows are written by ingest."""

    list_display = ("id", "created_at", "camera", "previous_status", "status", "smoothed_count", "channel",
                    "recipients", "state", "attempts", "sent_at", "last_error")
    list_filter = ("state", "channel", "kind", "camera", ("created_at", admin.DateFieldListFilter))
    search_fields = ("camera__name", "camera__slug", "recipients", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("camera",)


@admin.register(AlertWebhook)
class AlertWebhookAdmin(admin.ModelAdmin):
    """Where alerts are POSTed. The URL is checked on save and again at every send (webhooks.py)."""

    list_display = ("name", "url", "style", "on_stock", "on_offline", "on_fault", "is_active")
    list_filter = ("style", "is_active")
    search_fields = ("name", "url")


# Model versions: install form and switch actions (detection/model_versions_admin.py).
from detection import model_versions_admin  # noqa: E402,F401
# The review set ("Count is wrong", low-confidence samples): detection/review_admin.py.
from detection import review_admin  # noqa: E402,F401
