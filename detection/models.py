"""What the cameras see and what it means: per-camera stock state and the activity log."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

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
    # Counting zones (detection/zones.py): polygons of [x, y] points normalised to 0..1 of the frame;
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
        from detection.zones import zones_validate  # the rules live with the counting

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
    # The frame as kept (detection/frames.py): stored through Django's storage API, deleted with the row.
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


class FrameReceipt(models.Model):
    """The 201 answered to a frame sent with an `Idempotency-Key`.

    A camera that stored a frame but never saw the answer (connection cut, server restarted) retries
    with the same key and gets this answer again, and nothing is stored twice. Kept in the database,
    so every worker knows every receipt; deleted once older than INGEST_IDEMPOTENCY_WINDOW_S.
    """

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="receipts")
    key = models.CharField(max_length=255)
    # SHA-256 of the image and captured_at: the same key with another frame is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    body = models.JSONField(help_text="The 201 body, answered again to a retry.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["camera", "key"], name="receipt_one_per_camera_key")]
        indexes = [models.Index(fields=["camera", "created_at"], name="receipt_camera_age")]

    def __str__(self) -> str:
        return f"{self.camera} {self.key}"


class ModelVersion(models.Model):
    """A detector file installed by `manage.py model install` (or the admin); one is active at a time.

    Workers load the active one within seconds of a switch (detection/model_versions.py); with
    none active they use settings.MODEL_PATH, the bundled file.
    """

    name = models.CharField(max_length=120, help_text="A label for people, e.g. 'site-3 fine-tune 2026-11'.")
    file = models.FileField(upload_to="models/", max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    input_size = models.PositiveIntegerField()
    classes = models.JSONField(default=dict, help_text="Class id -> name, from the file's metadata.")
    metadata = models.JSONField(default=dict, blank=True, help_text="The ONNX file's metadata properties.")
    evaluation = models.JSONField(default=dict, blank=True, help_text="Figures from ml.evaluate, if given.")
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    installed_at = models.DateTimeField()
    is_active = models.BooleanField(default=False, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-installed_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_model")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"


class ReviewFrame(models.Model):
    """A frame kept for labelling: its count was marked wrong, or it was sampled for low confidence.

    A copy (image and boxes), so it outlives the 20-row activity log; capped at REVIEW_MAX_FRAMES,
    the oldest unflagged samples going first (detection/review.py).
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
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_frames"
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


# The alert outbox lives in its own sub-package (detection/alerts/); imported here so Django finds it.
from detection.alerts.models import AlertDelivery, AlertWebhook  # noqa: E402,F401
from detection.history.models import Reading, StatusChange  # noqa: E402,F401
