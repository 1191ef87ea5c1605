"""Actions on cameras and keys; the admin, the management commands and tests all go through here."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from devices.models import Camera, DeviceKey, hash_key

# Writing last_used_at on every frame would add a write per request; once a minute is enough to
# tell whether an old key is still in use during a rotation.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def device_key_create(*, camera: Camera, label: str = "") -> tuple[DeviceKey, str]:
    """Create a key and return it with the raw secret, which is never stored and never shown again."""
    prefix, raw_key = DeviceKey.generate()
    key = DeviceKey.objects.create(camera=camera, label=label, prefix=prefix, key_hash=hash_key(raw_key))
    return key, raw_key


def device_key_revoke(*, key: DeviceKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def device_key_authenticate(raw_key: str) -> DeviceKey | None:
    """The usable key matching `raw_key` (camera active, key not revoked), or None."""
    prefix = DeviceKey.prefix_of(raw_key)
    if prefix is None:
        return None
    key = DeviceKey.objects.usable().select_related("camera").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw_key)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        DeviceKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@transaction.atomic
def camera_create(*, slug: str, name: str = "", location: str = "", offline_timeout_s: int | None = None,
                  key_label: str = "initial key") -> tuple[Camera, str]:
    """Create a camera with its first key; returns the raw key (shown once)."""
    camera = Camera(slug=slug, name=name or slug.replace("-", " ").title(), location=location)
    if offline_timeout_s is not None:
        camera.offline_timeout_s = offline_timeout_s
    camera.full_clean()
    camera.save()
    _, raw_key = device_key_create(camera=camera, label=key_label)
    return camera, raw_key


def camera_mark_seen(*, camera: Camera, when=None) -> None:
    when = when or timezone.now()
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=when)
    camera.last_seen_at = when
