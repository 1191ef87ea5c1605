"""The ingest of one frame: analyse it, then record it in one transaction.

Decode and detect outside any transaction (slow, no locks held), write the frame's file, then one
short transaction: lock the camera's state row, claim the receipt (Idempotency-Key), let
detection.stock record the frame (event, log trim, state, history, alerts, "stock changed" after
commit), store the receipt. After the commit: the stage metrics and maybe a review sample.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from detection import metrics
from detection.detector import DecodedImage, DetectionResult, assess_image, decode_image
from detection.detector.tiling import detect_tiled
from detection.ingest.receipts import IdempotentFrame, frame_receipt_claim, frame_receipt_store
from detection.review.services import review_sample
from detection.serving.runtime import detect_slot, tiling_policy
from detection.serving.runtime import serving as serving_model
from detection.stock.frames import StoredFrame, frame_store, frames_delete
from detection.stock.models import DetectionEvent
from detection.stock.services import stock_frame_record, stock_state_locked
from devices.models import Camera


@dataclass
class StageTimer:
    """Milliseconds per ingest stage, reported in the Server-Timing header and the benchmark."""

    stages: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.stages[name] = (time.perf_counter() - start) * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.stages.items())


def frame_analyze(*, data: bytes, timer: StageTimer | None = None, conf: float | None = None) -> DetectionResult:
    """Decode (at reduced size when the format allows) and run the detector. Raises ImageRejected.

    ``conf`` overrides the serving confidence (the Inspector asks for low-score boxes too).

    At most DETECTOR_CONCURRENCY frames are decoded and detected at once (one per core by default):
    more would only share the cores, stretching every frame's time and the process's memory.
    """
    timer = timer or StageTimer()
    model = serving_model()  # taken once: a model switch during this frame does not affect it
    detector = model.detector
    tiling = tiling_policy()
    slot = detect_slot()
    timer.run("wait", slot.acquire)
    try:
        image: DecodedImage = timer.run(
            "decode", decode_image, data, max_pixels=settings.INGEST_MAX_PIXELS, target_size=detector.input_size * tiling.decode_factor
        )
        health = timer.run("check", assess_image, image)  # can this frame be counted at all (FAULT)?
        result = timer.run("detect", detect_tiled, detector, image, conf=conf, policy=tiling)
        result.health = health
        result.model_id, result.model_label = model.version_id, model.label
        return result
    finally:
        slot.release()


def frame_ingest(
    *, camera: Camera, data: bytes, captured_at: datetime | None, idempotent: IdempotentFrame | None,
    timer: StageTimer,
) -> DetectionEvent:
    """A camera's frame, checked by the endpoint, from bytes to a committed event.

    Raises what frame_analyze raises (ImageRejected, ModelUnavailable) and, with ``idempotent``,
    FrameAlreadyRecorded / IdempotencyKeyReused: the endpoint maps them onto the contract.
    """
    result = frame_analyze(data=data, timer=timer)
    # Written before the transaction (no I/O while the camera's row is locked); frame_record keeps
    # it with the event, or deletes it if the event is not stored.
    stored = timer.run("store", frame_store, camera_slug=camera.slug, data=data)
    event = timer.run("persist", frame_record, camera=camera, result=result, captured_at=captured_at,
                      idempotent=idempotent, frame=stored)
    metrics.frame_timed(stages=timer.stages, inference_ms=result.inference_ms)
    # Committed: maybe keep a low-confidence frame for review (REVIEW_SAMPLE_RATE; 0 by default, and
    # then this costs nothing; when on, only the sampled share pays for a query and a storage copy).
    review_sample(event_id=event.pk)
    return event


def frame_record(
    *, camera: Camera, result: DetectionResult, captured_at: datetime | None = None,
    idempotent: IdempotentFrame | None = None, frame: StoredFrame | None = None,
) -> DetectionEvent:
    """Persist one analysed frame in one transaction (detection.stock.services.stock_frame_record).

    The state row is locked first (select_for_update; on SQLite the IMMEDIATE transaction mode
    serialises writers), so concurrent frames of one camera keep the log at exactly its cap and
    smooth over each other's counts in order.

    With ``idempotent`` the frame's receipt is written in the same transaction; a frame whose key
    was already stored raises FrameAlreadyRecorded (or IdempotencyKeyReused) and stores nothing.
    ``frame`` (detection/stock/frames.py, written before this call) is kept with the event when it
    commits and deleted when it does not.
    """
    try:
        now = timezone.now()
        with transaction.atomic():
            state = stock_state_locked(camera)
            if idempotent is not None:
                frame_receipt_claim(camera=camera, frame=idempotent, now=now)
            event = stock_frame_record(camera=camera, state=state, result=result, captured_at=captured_at,
                                       frame=frame, now=now)
            if idempotent is not None:
                frame_receipt_store(camera=camera, frame=idempotent, event=event, now=now)
        return event
    except BaseException:
        if frame is not None:
            frames_delete([frame.name])  # no event names it: it would be an orphan
        raise
