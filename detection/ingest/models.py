"""Receipts of idempotent frames (detection/ingest/receipts.py)."""

from __future__ import annotations

from django.db import models

from devices.models import Camera


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
