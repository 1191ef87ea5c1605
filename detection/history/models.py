"""Per-minute readings and exact status changes: kept HISTORY_RETENTION_DAYS, pruned by `prune_history`."""

from __future__ import annotations

from django.db import models

from devices.models import Camera

STATUS_MAX_LENGTH = 10  # the length of detection.stock.models.Status values


class Reading(models.Model):
    """One camera's minute: its smoothed counts (the value the status follows), how many frames came,
    the status at the end of the minute and the seconds spent in each status.

    A row exists only for minutes in which frames arrived. Seconds between two frames are credited to
    the status of the earlier one, at most the camera's offline timeout (after that it was OFFLINE).
    """

    # No index of its own: the unique (camera, minute) index serves camera look-ups.
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="readings", db_index=False)
    minute = models.DateTimeField(help_text="Start of the minute (UTC).")
    # Null when every frame of the minute was a camera FAULT (nothing countable).
    first_count = models.PositiveIntegerField(null=True)
    last_count = models.PositiveIntegerField(null=True)
    min_count = models.PositiveIntegerField(null=True)
    max_count = models.PositiveIntegerField(null=True)
    median_count = models.FloatField(null=True)
    frames = models.PositiveIntegerField()
    status = models.CharField(max_length=STATUS_MAX_LENGTH, help_text="Status after the minute's last frame.")
    seconds_critical = models.PositiveSmallIntegerField(default=0)
    seconds_warning = models.PositiveSmallIntegerField(default=0)
    seconds_full = models.PositiveSmallIntegerField(default=0)
    seconds_fault = models.PositiveSmallIntegerField(default=0)

    class Meta:
        # The unique index is the upsert's conflict target and pruning's index. The chart reads through
        # a covering index instead: a camera's minutes are spread over the whole table (every camera
        # writes every minute), and 43,200 row look-ups cost more than the month's index entries.
        constraints = [models.UniqueConstraint(fields=["camera", "minute"], name="reading_one_per_camera_minute")]
        indexes = [models.Index(fields=["camera", "minute", "median_count", "min_count", "max_count", "frames"],
                                name="reading_chart")]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.minute:%Y-%m-%d %H:%M} {self.last_count} {self.status}"


class StatusChange(models.Model):
    """The exact moment a camera's status changed (count status, FAULT, OFFLINE)."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="status_changes", db_index=False)
    at = models.DateTimeField()
    from_status = models.CharField(max_length=STATUS_MAX_LENGTH)
    to_status = models.CharField(max_length=STATUS_MAX_LENGTH)

    class Meta:
        indexes = [models.Index(fields=["camera", "at"], name="status_change_camera_at"),
                   models.Index(fields=["at"], name="status_change_at")]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.at:%Y-%m-%d %H:%M:%S} {self.from_status}->{self.to_status}"
