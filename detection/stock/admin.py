"""Stock in the admin: thresholds and state, the activity log, and what the camera admin (devices)
shows of stock. devices knows nothing of stock, so its CameraAdmin is extended from here: the
thresholds inline, the status column, and saves through the stock service.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from detection.admin_base import ReadOnlyAdmin
from detection.stock.models import DetectionEvent, StockState
from detection.stock.services import stock_thresholds_update, stock_zones_update
from devices.admin import CameraAdmin
from devices.models import Camera


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


class StockCameraAdmin(CameraAdmin):
    """The camera admin with its stock: thresholds inline (calibrated where the camera is), status column."""

    inlines = [StockStateInline, *CameraAdmin.inlines]
    list_display = (*CameraAdmin.list_display[:4], "status_badge", *CameraAdmin.list_display[4:])

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not StockState:
            return super().save_formset(request, form, formset, change)
        # Thresholds go through the service: validated, status re-evaluated, dashboards told.
        for state in formset.save(commit=False):
            stock_thresholds_update(camera=form.instance, critical_level=state.critical_level,
                                    target_capacity=state.target_capacity, smoothing_window=state.smoothing_window)

    @admin.display(description="status")
    def status_badge(self, camera: Camera) -> str:
        stock = getattr(camera, "stock", None)
        return stock.effective_status() if stock else "WAITING"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("stock")


admin.site.unregister(Camera)
admin.site.register(Camera, StockCameraAdmin)
