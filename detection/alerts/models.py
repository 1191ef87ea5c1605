"""The alert outbox: one row per alert and channel, written in the transaction that caused it."""

from __future__ import annotations

from django.db import models

from devices.models import Camera


class AlertDelivery(models.Model):
    """One alert to one channel: what it says, to whom, and how its delivery went.

    Written in the same transaction as the change that caused it (a frame, new thresholds, a camera
    going quiet), so a crash after the commit cannot lose it; any worker's sender delivers it later.
    """

    class State(models.TextChoices):
        PENDING = "PENDING", "Pending"  # waiting for its first try, a retry, or the end of a cooldown
        SENDING = "SENDING", "Sending"  # claimed by one worker until claimed_until
        SENT = "SENT", "Sent"
        FAILED = "FAILED", "Failed"  # gave up after ALERT_MAX_ATTEMPTS tries
        SUPERSEDED = "SUPERSEDED", "Superseded"  # a newer alert for the camera replaced it within the cooldown

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SNS = "sns", "AWS SNS"
        WEBHOOK = "webhook", "Webhook"

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="alerts")
    created_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipients = models.CharField(max_length=1000, help_text="The addresses, SNS topic or webhook URL it went to.")
    kind = models.CharField(max_length=10, help_text="stock, offline or fault")
    previous_status = models.CharField(max_length=10)
    status = models.CharField(max_length=10)
    smoothed_count = models.PositiveIntegerField(null=True, blank=True)
    message = models.JSONField(help_text="The alert as rendered for every channel.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "alert"
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="alert_due"),
            models.Index(fields=["camera", "channel", "-id"], name="alert_camera_channel"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.camera} {self.previous_status}->{self.status} by {self.channel}: {self.state}"
