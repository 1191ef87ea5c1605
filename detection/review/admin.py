"""The review set in the admin: a clear, read-only listing (Managers and Auditors may view it).

Rows are written by the product ("Count is wrong", low-confidence sampling) and leave through the
cap or an export; nobody edits them here. Only superusers may delete (no role has the permission),
and a delete removes the image files too (detection.review.services.review_delete), so none is orphaned.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from detection.review.models import ReviewFrame
from detection.review.services import review_delete


@admin.register(ReviewFrame)
class ReviewFrameAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "frame_at", "camera", "reason", "model_count", "correct_count", "flagged_by",
                    "note", "exported", "model_label")
    list_display_links = ("thumbnail", "frame_at")
    list_filter = ("reason", "camera", ("exported_at", admin.EmptyFieldListFilter),
                   ("frame_at", admin.DateFieldListFilter))
    search_fields = ("camera__name", "camera__slug", "note", "flagged_by__username", "model_label")
    date_hierarchy = "frame_at"
    list_select_related = ("camera", "flagged_by")
    list_per_page = 50
    fields = ("preview", "camera", "event", "reason", "frame_at", "model_count", "correct_count", "note",
              "flagged_by", "created_at", "exported_at", "model_label", "model_version", "image", "image_width",
              "image_height", "boxes")
    readonly_fields = fields

    @admin.display(description="frame")
    def thumbnail(self, obj: ReviewFrame) -> str:
        return format_html('<img src="{}" alt="frame {}" loading="lazy" style="height:48px;width:auto;border-radius:3px">',
                           reverse("dashboard:review-image", args=[obj.pk]), obj.pk)

    @admin.display(description="frame")
    def preview(self, obj: ReviewFrame) -> str:
        return format_html('<img src="{}" alt="frame {}" style="max-width:640px;width:100%;height:auto">',
                           reverse("dashboard:review-image", args=[obj.pk]), obj.pk)

    @admin.display(description="exported", boolean=True, ordering="exported_at")
    def exported(self, obj: ReviewFrame) -> bool:
        return obj.exported_at is not None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: ReviewFrame) -> None:
        review_delete(frames=ReviewFrame.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        review_delete(frames=queryset)
