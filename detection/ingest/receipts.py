"""Idempotent frames: the `Idempotency-Key` a camera may send with each frame.

A camera whose frame was stored but whose 201 got lost (connection cut, server killed) sends the
frame again with the same key. Within INGEST_IDEMPOTENCY_WINDOW_S that retry gets the first 201 back
and stores nothing. Receipts live in the database, written in the same transaction as the frame's
event, so every worker sees them and a receipt exists exactly when its frame was stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from detection.ingest.models import FrameReceipt
from detection.stock.models import DetectionEvent
from devices.models import Camera

# 1-255 visible ASCII characters (what a UUID, a ULID or a counter needs); the draft standard's
# quoted form ("...") is accepted too.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class InvalidIdempotencyKey(ValueError):
    """The header is present but empty, too long or not visible ASCII (-> 400)."""


class IdempotencyKeyReused(Exception):
    """The key already came with a different frame (-> 422): a camera bug, never a retry."""


class FrameAlreadyRecorded(Exception):
    """This frame was stored before under the same key; ``receipt`` holds the answer it got."""

    def __init__(self, receipt: FrameReceipt) -> None:
        super().__init__(receipt.key)
        self.receipt = receipt


@dataclass(frozen=True)
class IdempotentFrame:
    """What frame_record needs to make a frame idempotent."""

    key: str
    fingerprint: str
    answer: Callable[[DetectionEvent], dict]  # the 201 body to remember for this event


def idempotency_key_parse(value: str | None) -> str | None:
    """The key from the header value; None when the header is absent. Raises InvalidIdempotencyKey."""
    if value is None:
        return None
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters (e.g. a UUID), one per frame."
        )
    return key


def frame_fingerprint(*, data: bytes, captured_at: datetime | None) -> str:
    digest = hashlib.sha256(data)
    digest.update(b"\0" + (captured_at.isoformat() if captured_at else "").encode())
    return digest.hexdigest()


def _window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.INGEST_IDEMPOTENCY_WINDOW_S)


def frame_receipt_find(*, camera: Camera, key: str, now: datetime | None = None) -> FrameReceipt | None:
    """The live receipt for this camera's key, if any (one indexed query)."""
    now = now or timezone.now()
    return FrameReceipt.objects.filter(camera=camera, key=key, created_at__gte=_window_start(now)).first()


def frame_receipt_check(receipt: FrameReceipt, fingerprint: str) -> FrameReceipt:
    """The receipt, when it was given to this very frame; IdempotencyKeyReused otherwise."""
    if receipt.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"This Idempotency-Key was already used for a different frame in the last "
            f"{settings.INGEST_IDEMPOTENCY_WINDOW_S} s; send a new key with each frame."
        )
    return receipt


def frame_receipt_claim(*, camera: Camera, frame: IdempotentFrame, now: datetime) -> None:
    """Inside frame_record's transaction, with the camera's state row locked (so two copies of one
    frame in flight cannot both get here unseen): prune this camera's expired receipts, then raise
    FrameAlreadyRecorded / IdempotencyKeyReused when the key is taken. Rolling back stores nothing."""
    FrameReceipt.objects.filter(camera=camera, created_at__lt=_window_start(now)).delete()
    existing = FrameReceipt.objects.filter(camera=camera, key=frame.key).first()
    if existing is not None:
        raise FrameAlreadyRecorded(frame_receipt_check(existing, frame.fingerprint))


def frame_receipt_store(*, camera: Camera, frame: IdempotentFrame, event: DetectionEvent, now: datetime) -> None:
    FrameReceipt.objects.create(camera=camera, key=frame.key, fingerprint=frame.fingerprint, created_at=now,
                                body=frame.answer(event))
