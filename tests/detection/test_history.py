"""Stock history written by the ingest transaction: per-minute readings, the exact status timeline,
retention. The model is not run here (a fake detector answer), the ingest service is the real one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.detector import Detection, DetectionResult
from detection.history.models import Reading, StatusChange
from detection.ingest.services import frame_record
from detection.stock.offline import cameras_check_offline
from detection.stock.services import stock_thresholds_update

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def result(count: int) -> DetectionResult:
    boxes = [Detection(i, i, i + 10, i + 10, 0.9, 0) for i in range(count)]
    return DetectionResult(detections=boxes, image_width=640, image_height=480, inference_ms=5.0)


@pytest.fixture
def clock(monkeypatch):
    """Ingest takes its time from timezone.now(); tests set it frame by frame."""
    now = {"at": T0}
    monkeypatch.setattr("django.utils.timezone.now", lambda: now["at"])

    def at(seconds: float) -> datetime:
        now["at"] = T0 + timedelta(seconds=seconds)
        return now["at"]

    return at


@pytest.fixture
def camera(camera_with_key):
    camera, _ = camera_with_key()  # critical 3, target 15, window 1
    return camera


def post(camera, clock, seconds: float, count: int) -> None:
    clock(seconds)
    frame_record(camera=camera, result=result(count))


def minute(camera, offset_min: int) -> Reading:
    return Reading.objects.get(camera=camera, minute=T0 + timedelta(minutes=offset_min))


def test_it_keeps_one_reading_per_minute_with_counts_frames_and_seconds_per_status(camera, clock):
    post(camera, clock, 5, 10)   # WARNING
    post(camera, clock, 20, 4)   # WARNING
    post(camera, clock, 40, 2)   # CRITICAL
    post(camera, clock, 70, 12)  # next minute, WARNING again
    first = minute(camera, 0)
    assert (first.first_count, first.last_count, first.min_count, first.max_count) == (10, 2, 2, 10)
    assert first.median_count == 4
    assert first.frames == 3
    assert first.status == "CRITICAL"  # at the end of the minute
    # 0:05-0:40 WARNING, 0:40-1:00 CRITICAL (the tail is added when the next minute's frame comes).
    assert (first.seconds_warning, first.seconds_critical, first.seconds_full) == (35, 20, 0)
    second = minute(camera, 1)
    assert (second.frames, second.first_count, second.status, second.seconds_critical) == (1, 12, "WARNING", 10)
    assert Reading.objects.filter(camera=camera).count() == 2


def test_status_changes_are_stored_at_the_exact_moment(camera, clock):
    for seconds, count in [(5, 10), (20, 4), (40, 2), (41, 1), (70, 12)]:
        post(camera, clock, seconds, count)
    changes = list(StatusChange.objects.filter(camera=camera).order_by("at").values_list("at", "from_status",
                                                                                          "to_status"))
    assert changes == [
        (T0 + timedelta(seconds=5), "WAITING", "WARNING"),
        (T0 + timedelta(seconds=40), "WARNING", "CRITICAL"),
        (T0 + timedelta(seconds=70), "CRITICAL", "WARNING"),
    ]


def test_a_silent_camera_is_not_credited_beyond_its_offline_timeout(camera, clock):
    post(camera, clock, 0, 1)          # CRITICAL, then nothing for 20 minutes (timeout 300 s)
    post(camera, clock, 20 * 60, 1)
    assert minute(camera, 0).seconds_critical == 60
    assert minute(camera, 20).seconds_critical == 0  # the gap was OFFLINE time, not CRITICAL time


def test_going_offline_and_coming_back_is_on_the_timeline(camera, clock):
    post(camera, clock, 0, 1)
    cameras_check_offline(now=T0 + timedelta(minutes=10))
    post(camera, clock, 11 * 60, 1)
    changes = list(StatusChange.objects.filter(camera=camera).order_by("at").values_list("from_status", "to_status"))
    assert changes == [("WAITING", "CRITICAL"), ("CRITICAL", "OFFLINE"), ("OFFLINE", "CRITICAL")]


def test_new_thresholds_that_change_the_status_are_on_the_timeline(camera, clock):
    post(camera, clock, 0, 10)  # WARNING with critical 3
    clock(30)
    stock_thresholds_update(camera=camera, critical_level=12, target_capacity=20)
    last = StatusChange.objects.filter(camera=camera).latest("at")
    assert (last.at, last.from_status, last.to_status) == (T0 + timedelta(seconds=30), "WARNING", "CRITICAL")


def test_a_frame_costs_one_reading_upsert_and_no_history_reads(camera, clock):
    post(camera, clock, 1, 10)
    clock(2)
    with CaptureQueriesContext(connection) as queries:
        frame_record(camera=camera, result=result(11))
    history = [q["sql"] for q in queries.captured_queries if "detection_reading" in q["sql"]
               or "detection_statuschange" in q["sql"]]
    assert len(history) == 1, history
    assert history[0].lstrip().upper().startswith("INSERT")
    assert minute(camera, 0).frames == 2


def test_prune_deletes_only_what_is_older_than_the_retention(camera, clock, settings):
    settings.HISTORY_RETENTION_DAYS = 90
    old = T0 - timedelta(days=91)
    Reading.objects.create(camera=camera, minute=old, frames=1, status="FULL")
    StatusChange.objects.create(camera=camera, at=old, from_status="WAITING", to_status="FULL")
    post(camera, clock, 0, 10)
    clock(0)
    call_command("prune_history", "--batch", "1", stdout=(out := __import__("io").StringIO()))
    assert "Deleted 1 reading(s) and 1 status change(s)." in out.getvalue()
    assert list(Reading.objects.values_list("minute", flat=True)) == [T0]
    assert StatusChange.objects.count() == 1


def test_a_camera_fault_is_fault_time_on_the_timeline_not_a_count(camera, clock):
    from detection.detector.health import ImageHealth

    post(camera, clock, 0, 10)  # WARNING
    dark = result(0)
    dark.health = ImageHealth(brightness=2, contrast=1, width=1920, height=1080, fingerprint="dark")
    clock(20)
    frame_record(camera=camera, result=dark)  # lens covered: zero boxes, but not an empty shelf
    post(camera, clock, 50, 10)
    reading = minute(camera, 0)
    assert (reading.min_count, reading.max_count, reading.frames) == (10, 10, 3)  # the 0 is not stock
    assert (reading.seconds_warning, reading.seconds_fault) == (20, 30)
    changes = list(StatusChange.objects.filter(camera=camera).order_by("at").values_list("from_status", "to_status"))
    assert changes == [("WAITING", "WARNING"), ("WARNING", "FAULT"), ("FAULT", "WARNING")]
