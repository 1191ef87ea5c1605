"""Who is sending frames: cameras and their device keys.

This app knows nothing about stock; `detection` hangs its per-camera state off `Camera`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

KEY_PREFIX_BYTES = 4  # 8 hex characters: the public, indexed part used to find the key
KEY_SECRET_BYTES = 32


def hash_key(raw_key: str) -> str:
    """Device keys carry 256 random bits, so a fast unsalted SHA-256 is enough (like API tokens
    elsewhere); a slow password hasher would add ~100 ms to every frame for no security gain."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def default_offline_timeout() -> int:
    return settings.CAMERA_DEFAULT_OFFLINE_TIMEOUT_S


class Camera(models.Model):
    slug = models.SlugField(unique=True, help_text="Stable identifier used in URLs, the API and scripts.")
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(
        "active", default=True, help_text="Inactive cameras are refused (401) and hidden from the dashboard."
    )
    offline_timeout_s = models.PositiveIntegerField(
        "offline after (seconds)",
        default=default_offline_timeout,
        validators=[MinValueValidator(10)],
        help_text="The camera counts as OFFLINE when no frame or heartbeat arrived for this long.",
    )
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    def is_offline(self, now=None) -> bool:
        if self.last_seen_at is None:
            return False  # never seen: WAITING, not OFFLINE
        now = now or timezone.now()
        return now - self.last_seen_at > timedelta(seconds=self.offline_timeout_s)


class DeviceKeyQuerySet(models.QuerySet):
    def usable(self) -> DeviceKeyQuerySet:
        return self.filter(revoked_at__isnull=True, camera__is_active=True)


class DeviceKey(models.Model):
    """A secret a camera sends as `Authorization: Bearer <key>`.

    Only the prefix (to find the row) and a hash (to check it) are stored; the raw key is shown
    once, when created. A camera may hold several keys so a key can be rotated without downtime.
    """

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(max_length=100, blank=True, help_text="Where this key is installed.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = DeviceKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.camera.slug})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @staticmethod
    def generate() -> tuple[str, str]:
        """Return (prefix, raw_key). The raw key embeds the prefix so lookups need no extra field."""
        prefix = secrets.token_hex(KEY_PREFIX_BYTES)
        return prefix, f"sim_{prefix}_{secrets.token_urlsafe(KEY_SECRET_BYTES)}"

    @staticmethod
    def prefix_of(raw_key: str) -> str | None:
        parts = raw_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "sim" or len(parts[1]) != 2 * KEY_PREFIX_BYTES:
            return None
        return parts[1]


class PairingLink(models.Model):
    """A one-time link (shown as a QR code) that gives one phone its own device key for a camera.

    Only a hash of the token is stored; the link works once (``used_at``) and only until
    ``expires_at`` (PAIRING_LINK_TTL_S, minutes). The key it hands out is an ordinary DeviceKey,
    revoked like any other.
    """

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="pairing_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, editable=False)
    key = models.OneToOneField(DeviceKey, null=True, blank=True, on_delete=models.SET_NULL, editable=False,
                               related_name="pairing_link")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"pairing link for {self.camera.slug}"
