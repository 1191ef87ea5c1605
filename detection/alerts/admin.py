"""The alert outbox and webhooks in the admin."""

from __future__ import annotations

from django.contrib import admin

from detection.admin_base import ReadOnlyAdmin
from detection.alerts.models import AlertDelivery, AlertWebhook


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
    """Where alerts are POSTed. The URL is checked on save and again at every send (detection/alerts/webhooks.py)."""

    list_display = ("name", "url", "style", "on_stock", "on_offline", "on_fault", "is_active")
    list_filter = ("style", "is_active")
    search_fields = ("name", "url")
