"""Stock actions: what a counted frame does to a camera's stock, and the managers' changes to it.

Called inside the ingest transaction (detection.ingest.services.frame_record) with the camera's state
row locked: append the event, trim the log to its cap, smooth the count, decide the status (or
FAULT), write the history (detection.history) and the alert rows (detection.stock.notify ->
detection.alerts), and announce "stock changed" after commit (detection.hooks). Thresholds and
zones, set by managers, end the same way.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from detection import rows
from detection.detector import DetectionResult
from detection.history.services import reading_record, status_change_record
from detection.hooks import stock_changed_on_commit
from detection.stock.faults import FrameVerdict, frame_verdict
from detection.stock.frames import StoredFrame
from detection.stock.models import DetectionEvent, Status, StockState
from detection.stock.notify import back_online_alert_enqueue, fault_alert_enqueue, stock_alert_enqueue
from detection.stock.zones import boxes_count, boxes_normalised, zones_validate
from devices.models import Camera


# The statements every frame runs, their SQL made once (detection/rows.py: the transaction took
# 2.83 ms of CPU when the ORM compiled each anew, 0.98 ms now). Nothing listens to saves of these models.
_STATE_LOCKED = rows.Select(StockState, rows.field_names(StockState), "{camera} = %s", for_update=True)
_RECENT_COUNTS = rows.Select(DetectionEvent, ["raw_count"],
                             "{camera} = %s AND {status} <> %s ORDER BY {id} DESC LIMIT %s")
# Beyond the newest ACTIVITY_LOG_SIZE; at most TRIM_BATCH a frame, so a lowered log size is reached
# over a few frames instead of one long transaction.
TRIM_BATCH = 500
_EXPIRED = rows.Select(DetectionEvent, ["id", "image"], "{camera} = %s ORDER BY {id} DESC LIMIT %s OFFSET %s")
_EVENTS_DELETE = rows.Delete(DetectionEvent)  # review frames keep their image, their event set to NULL
_EVENT_INSERT = rows.Insert(DetectionEvent, rows.field_names(DetectionEvent, exclude=["id"]))
_CAMERA_SEEN = rows.Update(Camera, ["last_seen_at"])
_STATE_FIELDS = ["last_frame_at", "updated_at", "fault", "fault_since", "last_frame_fingerprint",
                 "same_frame_count", "timeline_status", "history_minute"]
_STATE_AFTER_FAULT = rows.Update(StockState, _STATE_FIELDS)
_STATE_AFTER_COUNT = rows.Update(StockState, [*_STATE_FIELDS, "raw_count", "smoothed_count", "count_status"])


def stock_state_locked(camera: Camera) -> StockState:
    """The camera's state row, locked for this transaction (created on a camera's first use)."""
    found = _STATE_LOCKED.instances(camera.pk)
    state = found[0] if found else None
    if state is None:
        StockState.objects.get_or_create(camera=camera)
        state = StockState.objects.select_for_update().get(camera=camera)
    return state


@dataclass(frozen=True)
class FrameReading:
    """What one frame says about the stock, before anything is written."""

    boxes: list  # every box, normalised, with its `counted` flag
    count: int  # boxes counted in the zones
    verdict: FrameVerdict
    smoothed: int | None  # the stock reading that stands (for a FAULT frame: the last good one)
    status: str


def _smoothed(camera: Camera, raw_count: int, window: int) -> int:
    """Median of this count and the previous window-1 counts.

    With an even window the lower median is used: erring low raises a stock alert a frame early
    rather than a frame late.
    """
    if window <= 1:
        return raw_count
    previous = [count for (count,) in _RECENT_COUNTS.rows(camera.pk, Status.FAULT, window - 1)]  # FAULT: not stock
    return statistics.median_low([raw_count, *previous])


def _frame_reading(camera: Camera, state: StockState, result: DetectionResult) -> FrameReading:
    boxes, count = boxes_count(boxes_normalised(result.detections, result.image_width, result.image_height),
                               state.zones or [])
    verdict = frame_verdict(health=result.health, state=state)
    if verdict.fault:
        return FrameReading(boxes, count, verdict, smoothed=state.smoothed_count, status=Status.FAULT)
    smoothed = _smoothed(camera, count, state.smoothing_window)
    return FrameReading(boxes, count, verdict, smoothed=smoothed, status=state.status_for(smoothed))


def _event_create(camera: Camera, result: DetectionResult, reading: FrameReading, *, captured_at: datetime | None,
                  frame: StoredFrame | None, now: datetime) -> DetectionEvent:
    return _EVENT_INSERT.run(DetectionEvent(
        camera=camera,
        created_at=now,
        captured_at=captured_at,
        raw_count=reading.count,
        smoothed_count=reading.smoothed,
        status=reading.status,
        fault=reading.verdict.fault,
        inference_ms=round(result.inference_ms, 2),
        image=frame.name if frame is not None else "",
        image_width=result.image_width or None,
        image_height=result.image_height or None,
        boxes=reading.boxes,
        model_version_id=result.model_id,
        model_label=result.model_label,
    ))


def _trim_log(camera: Camera) -> None:
    """Delete everything older than the camera's newest ACTIVITY_LOG_SIZE events (one row per frame
    once the log is full, none before; at most TRIM_BATCH at once). Their stored frames are deleted
    once that commits (detection.stock.frames, on every event deletion), so a rolled-back trim keeps
    its rows and files.

    The expired rows are read once, only the fields the deletion needs (not the boxes), and deleted
    as Django's Collector would (rows.Delete): the same signals and the same SET_NULL of review frames
    as QuerySet.delete(), without its second read of the rows or a subquery to build.
    """
    keep = settings.ACTIVITY_LOG_SIZE
    _EVENTS_DELETE.run(_EXPIRED.instances(camera.pk, TRIM_BATCH, keep))


def _history(camera: Camera, state: StockState, *, count: int | None, status: str, now: datetime) -> dict:
    """The frame's part of the long-term history (detection/history); returns the state fields to update."""
    status_change_record(camera_id=camera.pk, previous=state.timeline_status, status=status, at=now)
    running = reading_record(
        camera_id=camera.pk, offline_timeout_s=camera.offline_timeout_s, previous_at=state.last_frame_at,
        previous_status=state.timeline_status, running=state.history_minute or {}, count=count, status=status,
        now=now,
    )
    return {"timeline_status": status, "history_minute": running}


def _state_update(camera: Camera, state: StockState, reading: FrameReading, now: datetime) -> None:
    """One UPDATE of the state row (and the camera's last_seen_at); ``state`` follows in memory."""
    verdict = reading.verdict
    changes = {"last_frame_at": now, "updated_at": now, "fault": verdict.fault,
               "fault_since": (state.fault_since or now) if verdict.fault else None,
               "last_frame_fingerprint": verdict.fingerprint, "same_frame_count": verdict.same_frame_count}
    count = None if verdict.fault else reading.smoothed
    changes.update(_history(camera, state, count=count, status=reading.status, now=now))
    if not verdict.fault:
        changes.update(raw_count=reading.count, smoothed_count=reading.smoothed, count_status=reading.status)
        state.count_status, state.smoothed_count = reading.status, reading.smoothed
    (_STATE_AFTER_FAULT if verdict.fault else _STATE_AFTER_COUNT).run(state.pk, changes)
    _CAMERA_SEEN.run(camera.pk, {"last_seen_at": now})
    camera.last_seen_at = now
    state.fault = verdict.fault


def stock_frame_record(
    *, camera: Camera, state: StockState, result: DetectionResult, captured_at: datetime | None,
    frame: StoredFrame | None, now: datetime,
) -> DetectionEvent:
    """One analysed frame into the camera's stock, in the caller's transaction with ``state`` locked
    (stock_state_locked): the event, the log trimmed to its cap, the state and its history, the
    alerts, and "stock changed" once it commits.

    A frame that cannot be counted (``result.health`` fails the CAMERA_FAULT_* checks, or the same
    pixels came too often in a row) is logged as FAULT and puts the camera in FAULT, but is not
    stock: the count status, the smoothed count and the smoothing window keep the last good frames.

    The count is of the boxes whose centre lies in the camera's counting zones (all boxes without
    zones); every box is kept on the event with its `counted` flag.
    """
    previous_status, previous_fault = state.count_status, state.fault
    reading = _frame_reading(camera, state, result)
    event = _event_create(camera, result, reading, captured_at=captured_at, frame=frame, now=now)
    _trim_log(camera)
    _state_update(camera, state, reading, now)
    stock_changed_on_commit(camera_id=camera.pk, event_id=event.pk)
    if state.offline_alerted_at is not None:
        back_online_alert_enqueue(camera, state, now)  # says the state it came back in, FAULT included
    else:
        fault_alert_enqueue(camera, state, previous_fault, now)
        stock_alert_enqueue(camera, state, previous_status, now)
    return event


def stock_thresholds_update(
    *, camera: Camera, critical_level: int, target_capacity: int, smoothing_window: int | None = None
) -> StockState:
    """Validate and save new thresholds, re-evaluating the status from the current smoothed count.

    Raises ValidationError with per-field messages (non-negative, critical < target, window range).
    """
    with transaction.atomic():
        state = stock_state_locked(camera)
        previous_status = state.count_status
        state.critical_level = critical_level
        state.target_capacity = target_capacity
        if smoothing_window is not None:
            state.smoothing_window = smoothing_window
        # Zones have their own update (stock_zones_update): a threshold change never fails because of them.
        state.full_clean(exclude=["camera", "zones"])
        if state.smoothed_count is not None:
            # A new window smooths over the kept counts at once, not from the old window's median.
            counts = list(DetectionEvent.objects.filter(camera=camera).exclude(status=Status.FAULT)
                          .order_by("-id").values_list("raw_count", flat=True)[: state.smoothing_window])
            if counts:
                state.smoothed_count = statistics.median_low(counts)
            state.count_status = state.status_for(state.smoothed_count)
        _manager_change_save(camera, state, previous_status)
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
        state = stock_state_locked(camera)
        previous_status = state.count_status
        state.zones = zones
        counts = _events_recount(camera, zones)[: state.smoothing_window]
        if counts and state.smoothed_count is not None:
            state.raw_count, state.smoothed_count = counts[0], statistics.median_low(counts)
            state.count_status = state.status_for(state.smoothed_count)
        _manager_change_save(camera, state, previous_status)
    return state


def _events_recount(camera: Camera, zones: list) -> list[int]:
    """Count the kept events' boxes again under ``zones``; returns the countable counts, newest first."""
    events = list(DetectionEvent.objects.filter(camera=camera).order_by("-id").only("id", "boxes", "raw_count",
                                                                                      "status"))
    recounted = []
    for event in events:
        if not event.boxes and event.raw_count:  # stored before boxes were kept: nothing to re-count
            continue
        event.boxes, event.raw_count = boxes_count(event.boxes, zones)
        recounted.append(event)
    DetectionEvent.objects.bulk_update(recounted, ["boxes", "raw_count"])
    return [event.raw_count for event in events if event.status != Status.FAULT]


def _manager_change_save(camera: Camera, state: StockState, previous_status: str) -> None:
    """The common end of a manager's change: the timeline, the row, the dashboards, the alert.

    A change can change the status this moment, so the timeline says so exactly then.
    """
    now = timezone.now()
    if not state.fault and state.timeline_status not in (Status.WAITING, Status.OFFLINE):
        status_change_record(camera_id=camera.pk, previous=state.timeline_status, status=state.count_status, at=now)
        state.timeline_status = state.count_status
    state.save()
    stock_changed_on_commit(camera_id=camera.pk, event_id=None)
    stock_alert_enqueue(camera, state, previous_status, now)
