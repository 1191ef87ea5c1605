"""Business actions of the detection app: ingest a frame, change thresholds.

The ingest path: decode and detect outside any transaction (slow, no locks held), then one short
transaction appends the event, trims the log, updates the camera's state, and after commit the
dashboards are told.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from detection.alerts import StockAlert, alert_needed, alerts_enqueue
from detection.detector import DecodedImage, DetectionResult, assess_image, decode_image
from detection.detector.tiling import detect_tiled
from detection.faults import frame_verdict
from detection.frames import StoredFrame, frames_delete
from detection.history.services import camera_went_offline, reading_record, status_change_record
from detection.models import DetectionEvent, Status, StockState
from detection.receipts import IdempotentFrame, frame_receipt_claim, frame_receipt_store
from detection.runtime import detect_slot, tiling_policy
from detection.runtime import serving as serving_model
from detection.zones import boxes_count, boxes_normalised, zones_validate
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


def _locked_state(camera: Camera) -> StockState:
    """The camera's state row, locked for this transaction (created on a camera's first use)."""
    state = StockState.objects.select_for_update().filter(camera=camera).first()
    if state is None:
        StockState.objects.get_or_create(camera=camera)
        state = StockState.objects.select_for_update().get(camera=camera)
    return state


def _smoothed(camera: Camera, raw_count: int, window: int) -> int:
    """Median of this count and the previous window-1 counts.

    With an even window the lower median is used: erring low raises a stock alert a frame early
    rather than a frame late.
    """
    if window <= 1:
        return raw_count
    previous = list(
        DetectionEvent.objects.filter(camera=camera).exclude(status=Status.FAULT)  # FAULT frames are not stock
        .order_by("-id").values_list("raw_count", flat=True)[: window - 1]
    )
    return statistics.median_low([raw_count, *previous])


def _trim_log(camera: Camera) -> None:
    """One DELETE of everything older than the camera's newest ACTIVITY_LOG_SIZE events. Their stored
    frames are deleted once that commits (detection.frames, on every event deletion), so a rolled-back
    trim keeps its rows and their files."""
    keep = settings.ACTIVITY_LOG_SIZE
    oldest_kept = DetectionEvent.objects.filter(camera=camera).order_by("-id").values("id")[keep - 1 : keep]
    DetectionEvent.objects.filter(camera=camera, id__lt=Subquery(oldest_kept)).delete()


def frame_record(
    *, camera: Camera, result: DetectionResult, captured_at: datetime | None = None,
    idempotent: IdempotentFrame | None = None, frame: StoredFrame | None = None,
) -> DetectionEvent:
    """Persist one analysed frame: append the event, trim the log to its cap, update current state.

    The state row is locked first (select_for_update; on SQLite the IMMEDIATE transaction mode
    serialises writers), so concurrent frames of one camera keep the log at exactly its cap and
    smooth over each other's counts in order.

    With ``idempotent`` the frame's receipt is written in the same transaction; a frame whose key
    was already stored raises FrameAlreadyRecorded (or IdempotencyKeyReused) and stores nothing.

    A frame that cannot be counted (``result.health`` fails the CAMERA_FAULT_* checks, or the same
    pixels came too often in a row) is logged as FAULT and puts the camera in FAULT, but is not
    stock: the count status, the smoothed count and the smoothing window keep the last good frames.

    The count is of the boxes whose centre lies in the camera's counting zones (all boxes without
    zones); every box is kept on the event with its `counted` flag. ``frame`` (detection/frames.py,
    written before this call) is kept with the event when it commits and deleted when it does not.
    """
    try:
        return _frame_record(camera=camera, result=result, captured_at=captured_at, idempotent=idempotent,
                             frame=frame)
    except BaseException:
        if frame is not None:
            frames_delete([frame.name])  # no event names it: it would be an orphan
        raise


def _frame_record(
    *, camera: Camera, result: DetectionResult, captured_at: datetime | None, idempotent: IdempotentFrame | None,
    frame: StoredFrame | None,
) -> DetectionEvent:
    now = timezone.now()
    with transaction.atomic():
        state = _locked_state(camera)
        if idempotent is not None:
            frame_receipt_claim(camera=camera, frame=idempotent, now=now)
        previous_status, previous_fault = state.count_status, state.fault
        boxes, count = boxes_count(boxes_normalised(result.detections, result.image_width, result.image_height),
                                   state.zones or [])
        verdict = frame_verdict(health=result.health, state=state)
        if verdict.fault:
            smoothed, status = state.smoothed_count, Status.FAULT
        else:
            smoothed = _smoothed(camera, count, state.smoothing_window)
            status = state.status_for(smoothed)
        event = DetectionEvent.objects.create(
            camera=camera,
            created_at=now,
            captured_at=captured_at,
            raw_count=count,
            smoothed_count=smoothed,
            status=status,
            fault=verdict.fault,
            inference_ms=round(result.inference_ms, 2),
            image=frame.name if frame is not None else "",
            image_width=result.image_width or None,
            image_height=result.image_height or None,
            boxes=boxes,
            model_version_id=result.model_id,
            model_label=result.model_label,
        )
        _trim_log(camera)
        if idempotent is not None:
            frame_receipt_store(camera=camera, frame=idempotent, event=event, now=now)
        changes = {"last_frame_at": now, "updated_at": now, "fault": verdict.fault,
                   "fault_since": (state.fault_since or now) if verdict.fault else None,
                   "last_frame_fingerprint": verdict.fingerprint, "same_frame_count": verdict.same_frame_count}
        changes.update(_history(camera, state, count=None if verdict.fault else smoothed, status=status, now=now))
        if not verdict.fault:
            changes.update(raw_count=count, smoothed_count=smoothed, count_status=status)
            state.count_status, state.smoothed_count = status, smoothed
        StockState.objects.filter(pk=state.pk).update(**changes)
        Camera.objects.filter(pk=camera.pk).update(last_seen_at=now)
        camera.last_seen_at = now
        transaction.on_commit(lambda: _broadcast(camera_id=camera.pk, event_id=event.pk))
        state.fault = verdict.fault
        if state.offline_alerted_at is not None:
            _back_online_alert(camera, state, now)  # says the state it came back in, FAULT included
        else:
            _fault_alert(camera, state, previous_fault, now)
            _stock_alert(camera, state, previous_status, now)
    return event


def _back_online_alert(camera: Camera, state: StockState, now: datetime) -> None:
    """A frame from a camera that was alerted OFFLINE: one "back online" alert, from OFFLINE to what the
    dashboard shows now (FAULT with its reason, or the count status), claimed in this transaction so
    the offline checker does not send a second one (its conditional UPDATE finds nothing to flip)."""
    StockState.objects.filter(pk=state.pk).update(offline_alerted_at=None)
    state.offline_alerted_at = None
    status = Status.FAULT if state.fault else state.count_status
    alerts_enqueue(camera=camera, alert=_alert(camera, state, Status.OFFLINE, status, reason=state.fault), now=now)


def stock_thresholds_update(
    *, camera: Camera, critical_level: int, target_capacity: int, smoothing_window: int | None = None
) -> StockState:
    """Validate and save new thresholds, re-evaluating the status from the current smoothed count.

    Raises ValidationError with per-field messages (non-negative, critical < target, window range).
    """
    with transaction.atomic():
        state = _locked_state(camera)
        state.critical_level = critical_level
        state.target_capacity = target_capacity
        if smoothing_window is not None:
            state.smoothing_window = smoothing_window
        state.full_clean(exclude=["camera"])
        previous_status = state.count_status
        if state.smoothed_count is not None:
            state.count_status = state.status_for(state.smoothed_count)
        _status_now(camera, state)
        state.save()
        transaction.on_commit(lambda: _broadcast(camera_id=camera.pk, event_id=None))
        _stock_alert(camera, state, previous_status, timezone.now())
    return state


def stock_zones_update(*, camera: Camera, zones: object) -> StockState:
    """Validate and save a camera's counting zones, and count again at once.

    The frames kept in the log carry their boxes, so each is re-counted under the new zones (its
    raw count and the boxes' `counted` flags; the statuses recorded at the time stay): the current
    count, the smoothed count over the window and the status follow immediately, and the next
    frame's smoothing continues from counts made with the same zones. Raises
    ValidationError({"zones": [reasons]}).
    """
    try:
        zones = zones_validate(zones)
    except ValidationError as exc:
        raise ValidationError({"zones": exc.messages}) from exc
    with transaction.atomic():
        state = _locked_state(camera)
        state.zones = zones
        previous_status = state.count_status
        events = list(DetectionEvent.objects.filter(camera=camera).order_by("-id").only("id", "boxes", "raw_count",
                                                                                          "status"))
        recounted = []
        for event in events:
            if not event.boxes and event.raw_count:  # stored before boxes were kept: nothing to re-count
                continue
            event.boxes, event.raw_count = boxes_count(event.boxes, zones)
            recounted.append(event)
        DetectionEvent.objects.bulk_update(recounted, ["boxes", "raw_count"])
        counts = [event.raw_count for event in events if event.status != Status.FAULT][: state.smoothing_window]
        if counts and state.smoothed_count is not None:
            state.raw_count, state.smoothed_count = counts[0], statistics.median_low(counts)
            state.count_status = state.status_for(state.smoothed_count)
        _status_now(camera, state)
        state.save()
        transaction.on_commit(lambda: _broadcast(camera_id=camera.pk, event_id=None))
        _stock_alert(camera, state, previous_status, timezone.now())
    return state


def _status_now(camera: Camera, state: StockState) -> None:
    """A manager's change can change the status this moment: the timeline says so exactly then."""
    if not state.fault and state.timeline_status not in (Status.WAITING, Status.OFFLINE):
        status_change_record(camera_id=camera.pk, previous=state.timeline_status, status=state.count_status,
                             at=timezone.now())
        state.timeline_status = state.count_status


def _alert(camera: Camera, state: StockState, previous_status: str, status: str, reason: str = "") -> StockAlert:
    return StockAlert(
        camera_slug=camera.slug, camera_name=camera.name, location=camera.location,
        previous_status=previous_status, status=status, smoothed_count=state.smoothed_count,
        critical_level=state.critical_level, target_capacity=state.target_capacity, reason=reason,
    )


def _fault_alert(camera: Camera, state: StockState, previous_fault: str, now: datetime) -> None:
    """Once when a camera's frames stop being countable, once when they are again."""
    if bool(previous_fault) == bool(state.fault):
        return
    if state.fault:
        alert = _alert(camera, state, state.count_status, Status.FAULT, reason=state.fault)
    else:
        alert = _alert(camera, state, Status.FAULT, state.count_status, reason=previous_fault)
    alerts_enqueue(camera=camera, alert=alert, now=now)  # in this transaction: committed with the change


def _stock_alert(camera: Camera, state: StockState, previous_status: str, now: datetime) -> None:
    if alert_needed(previous_status, state.count_status):
        alerts_enqueue(camera=camera, alert=_alert(camera, state, previous_status, state.count_status), now=now)


def cameras_check_offline(*, now: datetime | None = None) -> list[StockAlert]:
    """Alert once when an active camera goes OFFLINE and once when it is back; returns the alerts.

    Runs periodically in every worker (detection.watch) and from `manage.py check_cameras`. The
    conditional UPDATE on offline_alerted_at decides which caller sends, so several workers
    checking at the same moment send one alert, not one each.
    """
    now = now or timezone.now()
    alerts = []
    states = StockState.objects.select_related("camera").filter(
        camera__is_active=True, camera__last_seen_at__isnull=False
    )
    for state in states:
        camera = state.camera
        offline = camera.is_offline(now)
        # What the dashboard showed (or shows again): FAULT while the frames cannot be counted.
        shown = Status.FAULT if state.fault else state.count_status
        if offline and state.offline_alerted_at is None:
            alert = _alert(camera, state, shown, Status.OFFLINE, reason=state.fault)
            claimed = _offline_claim(state, alert, alerted_at=now, now=now)
        elif not offline and state.offline_alerted_at is not None:
            alert = _alert(camera, state, Status.OFFLINE, shown, reason=state.fault)
            claimed = _offline_claim(state, alert, alerted_at=None, now=now)
        else:
            continue
        if claimed:
            alerts.append(alert)
            _broadcast(camera_id=camera.pk, event_id=None)
    return alerts


def _offline_claim(state: StockState, alert: StockAlert, *, alerted_at: datetime | None, now: datetime) -> bool:
    """The caller whose UPDATE flips offline_alerted_at writes the alert, in the same transaction."""
    with transaction.atomic():
        claimed = StockState.objects.filter(pk=state.pk, offline_alerted_at__isnull=alerted_at is not None).update(
            offline_alerted_at=alerted_at
        )
        if claimed:
            alerts_enqueue(camera=state.camera, alert=alert, now=now)
            if alerted_at is not None:
                camera_went_offline(camera_id=state.camera_id, at=now)
    return bool(claimed)


def _history(camera: Camera, state: StockState, *, count: int | None, status: str, now: datetime) -> dict:
    """The frame's part of the long-term history (detection/history); returns the state fields to update."""
    status_change_record(camera_id=camera.pk, previous=state.timeline_status, status=status, at=now)
    running = reading_record(
        camera_id=camera.pk, offline_timeout_s=camera.offline_timeout_s, previous_at=state.last_frame_at,
        previous_status=state.timeline_status, running=state.history_minute or {}, count=count, status=status,
        now=now,
    )
    return {"timeline_status": status, "history_minute": running}


def _broadcast(*, camera_id: int, event_id: int | None) -> None:
    # Imported here: dashboard depends on detection, not the other way round; this is the one
    # place ingest tells the outside world, and it only sends ids (never images).
    from dashboard.broadcasts import stock_updated

    stock_updated(camera_id=camera_id, event_id=event_id)


__all__ = [
    "Status",
    "StageTimer",
    "frame_analyze",
    "frame_record",
    "stock_thresholds_update",
    "stock_zones_update",
    "cameras_check_offline",
]
