"""The review set: frames kept for labelling (detection/review/services.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from detection.stock.models import DetectionEvent
from devices.models import Camera


class ReviewFrame(models.Model):
    """A frame kept for labelling: its count was marked wrong, or it was sampled for low confidence.

    A copy (image and boxes), so it outlives the 20-row activity log; capped at REVIEW_MAX_FRAMES,
    the oldest unflagged samples going first (detection/review/services.py).
    """

    class Reason(models.TextChoices):
        FLAGGED = "flagged", "Count marked wrong"
        LOW_CONFIDENCE = "low_confidence", "Low-confidence sample"

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="review_frames")
    event = models.ForeignKey(
        DetectionEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_frames"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    image = models.FileField(upload_to="review/", max_length=255)
    image_width = models.PositiveIntegerField()
    image_height = models.PositiveIntegerField()
    boxes = models.JSONField(default=list, blank=True, help_text="The model's boxes, as on the event.")
    model_version = models.ForeignKey(
        "detection.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_frames"
    )
    model_label = models.CharField(max_length=120, blank=True)
    frame_at = models.DateTimeField(help_text="When the frame was received.")
    model_count = models.PositiveIntegerField()
    correct_count = models.PositiveIntegerField(null=True, blank=True, help_text="The count a person gave.")
    note = models.CharField(max_length=500, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("flag_count", "Can mark a count as wrong")]
        indexes = [models.Index(fields=["reason", "created_at"], name="review_reason_age")]
        constraints = [
            models.UniqueConstraint(fields=["event"], condition=models.Q(event__isnull=False), name="review_one_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.camera} {self.frame_at:%Y-%m-%d %H:%M:%S} {self.get_reason_display()}"
