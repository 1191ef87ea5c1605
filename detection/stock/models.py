"""Stock: status rules, each camera's StockState (thresholds set by managers, the current reading set by
ingest) and the capped DetectionEvent activity log. Tables and permissions are the detection app's
(app label "detection"), as before the app had rooms."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from detection.stock.zones import zones_validate
from devices.models import Camera


class Status(models.TextChoices):
    WAITING = "WAITING", "Waiting"
    CRITICAL = "CRITICAL", "Critical"
    WARNING = "WARNING", "Warning"
    FULL = "FULL", "Full"
    OFFLINE = "OFFLINE", "Offline"
    # The camera sends frames that cannot be counted (too dark/uniform/small, or frozen): not stock.
    FAULT = "FAULT", "Camera fault"


def status_for(count: int, *, critical_level: int, target_capacity: int) -> Status:
    """The count-based status; OFFLINE, FAULT and WAITING depend on time, the image and history."""
    if count <= critical_level:
        return Status.CRITICAL
    if count >= target_capacity:
        return Status.FULL
    return Status.WARNING


class StockState(models.Model):
    """One camera's thresholds (set by managers) and its current reading (set by ingest).

    Kept in the database, not in process memory, so every worker agrees on it.
    """

    camera = models.OneToOneField(Camera, on_delete=models.CASCADE, primary_key=True, related_name="stock")
    critical_level = models.PositiveIntegerField(
        default=5, help_text="At or below this many packages the spot is CRITICAL."
    )
    target_capacity = models.PositiveIntegerField(
        default=20, help_text="At or above this many packages the spot is FULL."
    )
    smoothing_window = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(settings.ACTIVITY_LOG_SIZE)],
        help_text="Status follows the median of the last K counts, so one occluded frame does not flip it "
        "(1 = raw count).",
    )
    raw_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    smoothed_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    count_status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, editable=False)
    last_frame_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the OFFLINE alert went out, cleared when the camera is back: one alert per outage.
    offline_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why the camera's latest frame could not be counted ("" while its frames are usable), and since when.
    fault = models.CharField(max_length=200, blank=True, editable=False)
    fault_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Pixel fingerprint of the latest frame and how many frames in a row had it (a frozen camera).
    last_frame_fingerprint = models.CharField(max_length=32, blank=True, editable=False)
    same_frame_count = models.PositiveIntegerField(default=0, editable=False)
    # Stock history (detection/history): the status last written to the timeline (OFFLINE included),
    # and the current minute's running reading, so each frame writes its minute with one upsert.
    timeline_status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, editable=False)
    history_minute = models.JSONField(default=dict, blank=True, editable=False)
    # Counting zones (detection/stock/zones.py): polygons of [x, y] points normalised to 0..1 of the frame;
    # only boxes whose centre lies inside one are counted. [] = the whole frame.
    zones = models.JSONField(
        default=list, blank=True,
        help_text="Polygons in frame coordinates 0..1, e.g. [[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]]; "
        "only packages whose centre lies in one are counted. Empty: the whole frame.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "stock thresholds and state"
        verbose_name_plural = "stock thresholds and state"

    def __str__(self) -> str:
        return f"{self.camera}: {self.count_status}"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude=exclude)
        if exclude and "zones" in exclude:
            return  # a thresholds-only save: a stored zone must never make it fail
        try:
            self.zones = zones_validate(self.zones)
        except ValidationError as exc:
            raise ValidationError({"zones": exc.messages}) from exc

    def clean(self) -> None:
        if self.critical_level is not None and self.target_capacity is not None:
            if self.critical_level >= self.target_capacity:
                raise ValidationError(
                    {"critical_level": f"The critical level ({self.critical_level}) must be lower than the target "
                     f"capacity ({self.target_capacity})."}
                )

    def status_for(self, count: int) -> Status:
        return status_for(count, critical_level=self.critical_level, target_capacity=self.target_capacity)

    def effective_status(self, now=None) -> Status:
        """What the dashboard and API show: OFFLINE overrides the count once the camera went quiet,
        FAULT while its frames cannot be counted (the count status keeps the last good reading)."""
        if self.camera.is_offline(now):
            return Status.OFFLINE
        if self.fault:
            return Status.FAULT
        return Status(self.count_status)


class DetectionEvent(models.Model):
    """One processed frame. The log keeps the newest ACTIVITY_LOG_SIZE rows per camera."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(db_index=True)
    captured_at = models.DateTimeField(null=True, blank=True, help_text="When the camera took the frame, if it said.")
    raw_count = models.PositiveIntegerField()
    # For a FAULT frame: the stock reading that stands (null before the first good frame).
    smoothed_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    fault = models.CharField(max_length=200, blank=True, help_text="Why this frame could not be counted.")
    inference_ms = models.FloatField()
    # The frame as kept (detection/stock/frames.py): stored through Django's storage API, deleted with the row.
    image = models.FileField(upload_to="frames/", max_length=255, blank=True)
    image_width = models.PositiveIntegerField(null=True, blank=True, help_text="Of the frame as received, px.")
    image_height = models.PositiveIntegerField(null=True, blank=True)
    # Every box the model drew, normalised to 0..1 of the frame: [x1, y1, x2, y2, score, counted];
    # counted is false for a box whose centre lies outside the camera's counting zones.
    boxes = models.JSONField(default=list, blank=True)
    model_version = models.ForeignKey(
        "detection.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="events",
        help_text="The model that counted this frame (empty: the bundled MODEL_PATH file).",
    )
    model_label = models.CharField(max_length=120, blank=True, help_text="Which model counted, as shown to people.")

    class Meta:
        ordering = ["-id"]
        permissions = [("inspect_frames", "Can upload frames to the Vision Inspector")]
        indexes = [models.Index(fields=["camera", "-id"], name="event_camera_newest")]

    def __str__(self) -> str:
        return f"{self.camera} {self.created_at:%Y-%m-%d %H:%M:%S} {self.raw_count} {self.status}"
