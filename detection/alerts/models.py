"""The alert outbox: one row per alert and channel, written in the transaction that caused it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from devices.models import Camera


class AlertWebhook(models.Model):
    """A URL that alerts are POSTed to (a chat tool's incoming webhook, a ticketing system, a script)."""

    class Style(models.TextChoices):
        JSON = "json", "JSON (the alert's fields)"
        TEXT = "text", "Text for Slack, Mattermost or Microsoft Teams ({\"text\": ...})"

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="http:// or https:// only. Link-local and cloud metadata "
                          "addresses are refused unless the server sets WEBHOOK_ALLOW_LINK_LOCAL=1.")
    secret = models.CharField(max_length=200, blank=True, help_text="Signs each request: X-Inventory-Signature: "
                              "sha256=HMAC-SHA256(secret, X-Inventory-Timestamp + '.' + body).")
    style = models.CharField(max_length=10, choices=Style.choices, default=Style.JSON)
    on_stock = models.BooleanField("stock alerts", default=True, help_text="Entering or leaving CRITICAL.")
    on_offline = models.BooleanField("offline alerts", default=True, help_text="Camera OFFLINE and back.")
    on_fault = models.BooleanField("fault alerts", default=True, help_text="Camera FAULT and working again.")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "alert webhook"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from detection.alerts.webhooks import url_validate

        if self.url:
            try:
                url_validate(self.url)
            except ValidationError as exc:
                raise ValidationError({"url": exc.messages}) from None

    def target(self) -> str:
        """What the alert log shows: name and host only. Many webhook URLs (Slack's, Teams') are
        themselves the credential, and the log is open to every dashboard role."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        return f"{self.name} ({parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/…)"

    def wants(self, kind: str) -> bool:
        return {"stock": self.on_stock, "offline": self.on_offline, "fault": self.on_fault}.get(kind, False)


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
        SKIPPED = "SKIPPED", "Not sent (no channel configured)"  # recorded so people see what would have gone out

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SNS = "sns", "AWS SNS"
        WEBHOOK = "webhook", "Webhook"
        NONE = "none", "None configured"  # the alert as it would have been sent, had a channel been set up

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="alerts")
    created_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipients = models.CharField(max_length=1000, help_text="The addresses, SNS topic or webhook URL it went to.")
    webhook = models.ForeignKey(AlertWebhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
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
    # "Who is on it": set on every row of one alert (one per channel) at once, by anyone on shift.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_note = models.CharField("note", max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "alert"
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="alert_due"),
            models.Index(fields=["camera", "channel", "-id"], name="alert_camera_channel"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.camera} {self.previous_status}->{self.status} by {self.channel}: {self.state}"

    def siblings(self) -> models.QuerySet:
        """The rows of the same alert (one per channel): written together, so same camera, time and change."""
        return AlertDelivery.objects.filter(camera_id=self.camera_id, created_at=self.created_at,
                                            previous_status=self.previous_status, status=self.status)
