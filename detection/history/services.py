"""Writing history: called inside the ingest transaction with the camera's state row locked, so the
writes of one camera are serialised and each frame costs one upsert of its minute's reading (two when
a new minute starts) plus one insert when the status changes. No reads: the running minute is kept on
the state row, which the ingest loads and updates anyway. This room writes only its own tables: the
state row (timeline_status, history_minute) is stock's, updated by detection.stock."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from detection import rows
from detection.history.models import Reading, StatusChange

# Statuses whose time is counted in a reading (OFFLINE and WAITING time is no time with frames).
TIMED = ("CRITICAL", "WARNING", "FULL", "FAULT")
# A minute keeps at most this many counts for its median (10 frames a second); later ones still
# move first/last/min/max and the frame count.
MAX_COUNTS_PER_MINUTE = 600
MINUTE = timedelta(minutes=1)
# The two writes of every frame, their SQL made once (detection/rows.py); nothing listens to their saves.
_READING_UPSERT = rows.Insert(Reading, rows.field_names(Reading, exclude=["id"]), conflict=["camera", "minute"])
_STATUS_CHANGE_INSERT = rows.Insert(StatusChange, rows.field_names(StatusChange, exclude=["id"]))


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _new_minute(minute: datetime) -> dict:
    return {"minute": minute.isoformat(), "counts": [], "first": None, "last": None, "min": None, "max": None,
            "frames": 0, "status": "", "seconds": {}}


def _credit(acc: dict, status: str, start: datetime, end: datetime) -> None:
    """Add the part of [start, end) that falls in the running minute to `status`."""
    minute = datetime.fromisoformat(acc["minute"])
    overlap = (min(end, minute + MINUTE) - max(start, minute)).total_seconds()
    if status in TIMED and overlap > 0:
        acc["seconds"][status] = acc["seconds"].get(status, 0.0) + overlap


def _upsert(camera_id: int, acc: dict) -> None:
    seconds = acc["seconds"]
    reading = Reading(
        camera_id=camera_id, minute=datetime.fromisoformat(acc["minute"]),
        first_count=acc["first"], last_count=acc["last"], min_count=acc["min"], max_count=acc["max"],
        median_count=statistics.median(acc["counts"]) if acc["counts"] else None,
        frames=acc["frames"], status=acc["status"],
        **{f"seconds_{status.lower()}": min(60, round(seconds.get(status, 0))) for status in TIMED},
    )
    _READING_UPSERT.run(reading)  # the minute's row, inserted or brought up to date


def reading_record(
    *, camera_id: int, offline_timeout_s: int, previous_at: datetime | None, previous_status: str,
    running: dict, count: int | None, status: str, now: datetime,
) -> dict:
    """Fold one frame into its minute's reading and upsert it; returns the new running minute.

    ``previous_at``/``previous_status``: the camera's last frame and its timeline status; the time
    between the two frames is credited to ``previous_status`` (up to the offline timeout), split at
    the minute boundary. ``count`` is None for a FAULT frame (nothing countable).
    """
    minute = minute_of(now)
    acc = running if running.get("minute") == minute.isoformat() else None
    gap_end = now
    if previous_at is not None:
        gap_end = min(now, previous_at + timedelta(seconds=offline_timeout_s))
    if acc is None:
        if running.get("minute"):
            # The previous minute is over: its tail (last frame to the minute's end) completes it.
            if previous_at is not None:
                _credit(running, previous_status, previous_at, gap_end)
            _upsert(camera_id, running)
        acc = _new_minute(minute)
    if previous_at is not None:
        _credit(acc, previous_status, previous_at, gap_end)
    acc["frames"] += 1
    acc["status"] = status
    if count is not None:
        if acc["first"] is None:
            acc["first"] = count
        acc["last"] = count
        acc["min"] = count if acc["min"] is None else min(acc["min"], count)
        acc["max"] = count if acc["max"] is None else max(acc["max"], count)
        if len(acc["counts"]) < MAX_COUNTS_PER_MINUTE:
            acc["counts"].append(count)
    _upsert(camera_id, acc)
    return acc


def status_change_record(*, camera_id: int, previous: str, status: str, at: datetime) -> bool:
    """Append to the camera's timeline when its status changed; True if it did."""
    if previous == status:
        return False
    _STATUS_CHANGE_INSERT.run(StatusChange(camera_id=camera_id, at=at, from_status=previous, to_status=status))
    return True


def history_prune(*, now: datetime | None = None, batch: int = 1000,
                  on_batch: Callable[[float], None] | None = None) -> tuple[int, int]:
    """Delete readings and status changes older than HISTORY_RETENTION_DAYS; returns (readings, changes).

    Safe while cameras post: each batch is its own short transaction (one camera, at most `batch`
    rows, found through the (camera, minute) index), so a writer never waits long for the database,
    and the current minute is never touched. Safe to run twice at once: a row deleted by the other
    run is simply not deleted again. ``on_batch`` gets each batch's seconds (the benchmark reports
    the longest: how long a camera's frame could wait for the database).
    """
    from devices.models import Camera

    cutoff = (now or timezone.now()) - timedelta(days=settings.HISTORY_RETENTION_DAYS)
    deleted = [0, 0]
    for camera_id in Camera.objects.values_list("pk", flat=True).order_by("pk"):
        for index, (model, field) in enumerate(((Reading, "minute"), (StatusChange, "at"))):
            old = model.objects.filter(camera_id=camera_id, **{f"{field}__lt": cutoff})
            while True:
                started = time.perf_counter()
                with transaction.atomic():
                    ids = list(old.order_by(field).values_list("pk", flat=True)[:batch])
                    if ids:
                        deleted[index] += model.objects.filter(pk__in=ids).delete()[0]
                if on_batch is not None and ids:
                    on_batch(time.perf_counter() - started)
                if len(ids) < batch:
                    break
    return deleted[0], deleted[1]
