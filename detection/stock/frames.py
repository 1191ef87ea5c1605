"""The frames kept with the activity log: each of a camera's newest events keeps its image.

Stored through Django's storage API (local files under MEDIA_ROOT, or S3 with MEDIA_STORAGE=s3).
The ingest writes the file BEFORE its transaction (no I/O while the camera's row is locked) and
hands it to frame_record, which keeps it when the event commits and deletes it otherwise; the
files of trimmed events are deleted after the trim commits. So every kept event has its file and
no file outlives its event -- unless the process dies between the write and the commit, or between
a trim's commit and its deletes (kill -9, power cut). frames_sweep catches those: at start-up and
every FRAME_SWEEP_INTERVAL_S it deletes the files under frames/ (and review/) that no row names and
that are older than FRAME_SWEEP_GRACE_S (longer than any request, so a file whose transaction may
still commit is never touched). `manage.py sweep_frames` runs the same sweep once.

Bounded: a frame within FRAME_STORE_MAX_SIDE and FRAME_STORE_MAX_BYTES is kept as received; any
other is re-encoded as JPEG until it fits, so a camera's frames never take more than
ACTIVITY_LOG_SIZE x FRAME_STORE_MAX_BYTES.
"""

from __future__ import annotations

import io
import logging
import math
import secrets
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone
from PIL import Image, ImageOps

from detection import metrics
from detection.background import PeriodicThread

logger = logging.getLogger(__name__)

# Pillow format -> (file extension, content type) of the formats the ingest accepts.
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
CONTENT_TYPES = {ext: content_type for ext, content_type in FORMATS.values()}
UPLOAD_TO = "frames"


@dataclass(frozen=True)
class StoredFrame:
    """A frame written to storage, not yet owned by an event."""

    name: str  # the storage name (what DetectionEvent.image holds)
    size: int
    reencoded: bool


class FrameTooBig(ValueError):
    """Even the smallest re-encoding does not fit FRAME_STORE_MAX_BYTES (a misconfiguration)."""


def frame_bytes(data: bytes) -> tuple[bytes, str, bool]:
    """(bytes to keep, extension, re-encoded?) for an upload the detector already accepted."""
    max_side, max_bytes = settings.FRAME_STORE_MAX_SIDE, settings.FRAME_STORE_MAX_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        kind = FORMATS.get(image.format or "")
        # EXIF-rotated frames are re-encoded too: boxes are in the decoded (upright) frame's pixels.
        upright = image.getexif().get(0x0112, 1) in (None, 1)
        if kind and upright and max(image.size) <= max_side and len(data) <= max_bytes:
            return data, kind[0], False  # as received: no decode, no cost
        return _reencoded(image, max_side=max_side, max_bytes=max_bytes), "jpg", True


def _reencoded(image: Image.Image, *, max_side: int, max_bytes: int) -> bytes:
    if image.format == "JPEG":
        # Decode at 1/2, 1/4 or 1/8 when that still covers the target size (both sides, so the aspect counts).
        scale = min(1.0, max_side / max(image.size))
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    image = ImageOps.exif_transpose(image).convert("RGB")
    side = max_side
    while side >= 64:
        scaled = image.copy()
        scaled.thumbnail((side, side), Image.Resampling.BILINEAR)
        for quality in dict.fromkeys((settings.FRAME_STORE_QUALITY, 60, 40)):
            out = io.BytesIO()
            scaled.save(out, "JPEG", quality=quality, optimize=False)
            if out.tell() <= max_bytes:
                return out.getvalue()
        side //= 2
    raise FrameTooBig(f"a frame does not fit FRAME_STORE_MAX_BYTES={max_bytes} even at 64 px")


def frame_store(*, camera_slug: str, data: bytes) -> StoredFrame | None:
    """Write the frame (bounded) to storage; None when frames are not kept (FRAME_STORE_ENABLED=0).

    Called outside any transaction. A storage failure is logged and the frame counted without its
    image: a full disk or an unreachable bucket must not stop the counting.
    """
    if not settings.FRAME_STORE_ENABLED:
        return None
    try:
        content, ext, reencoded = frame_bytes(data)
        now = timezone.now()
        name = f"{UPLOAD_TO}/{camera_slug}/{now:%Y%m%d-%H%M%S}-{secrets.token_hex(6)}.{ext}"
        saved = default_storage.save(name, ContentFile(content))
    except Exception:
        logger.exception("could not store the frame of camera %s; counted without its image", camera_slug)
        return None
    return StoredFrame(name=saved, size=len(content), reencoded=reencoded)


def frames_delete(names: Iterable[str]) -> None:
    """Delete stored frames (after the rows that named them are gone); failures are logged."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("could not delete stored frame %s", name)


def frame_open(name: str):
    """The stored frame as a file object (local or S3), or FileNotFoundError."""
    if not name or not default_storage.exists(name):
        raise FileNotFoundError(name)
    return default_storage.open(name, "rb")


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def _event_deleted(sender, instance, using: str, **kwargs) -> None:
    """Whatever deletes an event (the log trim, a camera deleted with its events, the admin), its
    frame goes once that deletion commits, and stays if it rolls back: no file outlives its event.

    A receiver rather than code at each call site because cascades (Camera -> events) delete rows
    no service sees. The trim's DELETE fetches its rows anyway (ReviewFrame.event is SET_NULL).
    """
    name = instance.image.name if instance.image else ""
    if name:
        transaction.on_commit(lambda: frames_delete([name]), using=using)


# Storage folders and the model whose rows own their files: a file no row names is an orphan. The
# review room's model is named by its label through the app registry (review sits above stock, so
# this module does not import it).
SWEPT = (("frames", "detection.DetectionEvent"), ("review", "detection.ReviewFrame"))
_SWEEP_CHUNK = 500  # names per "which of these are referenced?" query (SQLite's variable limit)


def _files_under(folder: str) -> Iterable[str]:
    """Every storage name under ``folder`` (recursively; local files or S3 keys)."""
    try:
        dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in dirs:
        yield from _files_under(f"{folder}/{sub}")


def _older_than(name: str, cutoff: datetime) -> bool:
    try:
        return default_storage.get_modified_time(name) < cutoff
    except (FileNotFoundError, OSError):
        return False  # gone meanwhile (deleted by its own trim): nothing to do


def frames_sweep(*, grace_s: float | None = None, now: datetime | None = None) -> list[str]:
    """Delete stored frames no row names and that were written more than ``grace_s`` ago.

    The grace period (FRAME_SWEEP_GRACE_S by default) must be longer than any request: a file is
    written before its transaction, so a younger unreferenced file may still be about to commit.
    Returns the names deleted.
    """
    grace = settings.FRAME_SWEEP_GRACE_S if grace_s is None else grace_s
    cutoff = (now or timezone.now()) - timedelta(seconds=grace)
    removed: list[str] = []
    for folder, model_label in SWEPT:
        model = apps.get_model(model_label)
        old = [name for name in _files_under(folder) if _older_than(name, cutoff)]
        for start in range(0, len(old), _SWEEP_CHUNK):
            chunk = old[start : start + _SWEEP_CHUNK]
            named = set(model.objects.filter(image__in=chunk).values_list("image", flat=True))
            orphans = [name for name in chunk if name not in named]
            frames_delete(orphans)
            removed.extend(orphans)
    if removed:
        logger.warning("deleted %d stored frame(s) that no row names (left by a crash)", len(removed))
    return removed


def _sweep_round() -> None:
    metrics.frames_swept(len(frames_sweep()))


# Once at start-up (in the background, so start-up is not delayed), then every FRAME_SWEEP_INTERVAL_S.
frame_sweep = PeriodicThread("frame-sweep", _sweep_round, first_run_at_start=True)


def start_frame_sweep(interval_s: int) -> bool:
    """Start the sweep once per process; interval 0 disables it. Returns whether it started."""
    return frame_sweep.start(interval_s)


def stop_frame_sweep() -> None:
    """Called when the server shuts down: no sweep starts after this (one under way finishes)."""
    frame_sweep.stop()


def connect_signals() -> None:
    post_delete.connect(_event_deleted, sender="detection.DetectionEvent", dispatch_uid="frames_event_deleted")
