"""A camera the server pulls frames from, instead of one that posts them."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from devices.models import Camera


class PullKind(models.TextChoices):
    HTTP = "http", "HTTP(S) snapshot URL"
    RTSP = "rtsp", "RTSP stream"


class PullAuth(models.TextChoices):
    NONE = "none", "None"
    BASIC = "basic", "Basic"
    DIGEST = "digest", "Digest"


class PullSource(models.Model):
    """Where and how often to fetch a camera's frame; its lease (which puller has it now) and its health.

    The URL is stored without credentials; the user name in clear, the password encrypted
    (detection/pull/secrets.py) and never shown again. ``next_pull_at`` is the schedule; a puller
    takes a due source by writing ``lease_owner``/``lease_until`` in one conditional UPDATE (or
    SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL) and gives it back after the pull; a lease left
    by a puller that died ends at ``lease_until`` (CAMERA_PULL_LEASE_S) and another takes it.
    """

    camera = models.OneToOneField(Camera, on_delete=models.CASCADE, related_name="pull_source")
    kind = models.CharField(max_length=8, choices=PullKind.choices, default=PullKind.HTTP)
    url = models.CharField("URL", max_length=500, help_text="Without user name and password.")
    auth = models.CharField("authentication", max_length=8, choices=PullAuth.choices, default=PullAuth.NONE,
                            help_text="HTTP only; RTSP sends the user name and password in its own handshake.")
    username = models.CharField(max_length=150, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    interval_s = models.PositiveIntegerField("pull every (seconds)", default=10,
                                             validators=[MinValueValidator(1), MaxValueValidator(3600)])
    timeout_s = models.PositiveIntegerField("timeout (seconds)", default=5,
                                            validators=[MinValueValidator(1), MaxValueValidator(20)])
    tls_verify = models.BooleanField(
        "check the HTTPS certificate", default=True,
        help_text="Turn off only for a camera on your own network with a self-signed certificate.")
    enabled = models.BooleanField(default=True)
    next_pull_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_owner = models.CharField(max_length=100, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_ok_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(default=0, editable=False, help_text="Failed pulls in a row.")

    class Meta:
        ordering = ["camera__name"]

    def __str__(self) -> str:
        return f"{self.camera.slug}: {self.get_kind_display()}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    @property
    def failing(self) -> bool:
        return self.failures > 0
