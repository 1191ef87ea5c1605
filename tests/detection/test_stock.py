"""Stock rules: statuses, smoothing, thresholds, and the 20-row activity log under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record
from detection.models import DetectionEvent, Status, StockState, status_for
from detection.stock.services import stock_thresholds_update


def result(count: int) -> DetectionResult:
    """A detector answer with `count` boxes: stock rules are tested without running the model."""
    boxes = [Detection(i, i, i + 10, i + 10, 0.9, 0) for i in range(count)]
    return DetectionResult(detections=boxes, image_width=640, image_height=480, inference_ms=5.0)


@pytest.mark.parametrize(
    "count,expected",
    [(0, Status.CRITICAL), (3, Status.CRITICAL), (4, Status.WARNING), (14, Status.WARNING), (15, Status.FULL),
     (99, Status.FULL)],
)
def test_status_boundaries_are_inclusive(count, expected):
    assert status_for(count, critical_level=3, target_capacity=15) == expected


@pytest.mark.django_db
class TestSmoothing:
    def test_one_occluded_frame_does_not_flip_to_critical(self, camera_with_key):
        camera, _ = camera_with_key(window=3)
        statuses = [frame_record(camera=camera, result=result(n)).status for n in (10, 10, 0, 10)]
        assert statuses == [Status.WARNING] * 4
        assert DetectionEvent.objects.filter(camera=camera).first().raw_count == 10

    def test_a_sustained_drop_does_flip_to_critical(self, camera_with_key):
        camera, _ = camera_with_key(window=3)
        events = [frame_record(camera=camera, result=result(n)) for n in (10, 1, 1)]
        assert [e.smoothed_count for e in events] == [10, 1, 1]
        assert events[-1].status == Status.CRITICAL

    def test_window_of_one_follows_the_raw_count(self, camera_with_key):
        camera, _ = camera_with_key(window=1)
        assert [frame_record(camera=camera, result=result(n)).status for n in (10, 0, 20)] == [
            Status.WARNING, Status.CRITICAL, Status.FULL]

    def test_even_window_takes_the_lower_median(self, camera_with_key):
        camera, _ = camera_with_key(window=2)
        frame_record(camera=camera, result=result(4))
        assert frame_record(camera=camera, result=result(10)).smoothed_count == 4


@pytest.mark.django_db
class TestThresholds:
    def test_changing_a_threshold_re_evaluates_status_at_once(self, camera_with_key):
        camera, _ = camera_with_key()
        frame_record(camera=camera, result=result(10))
        state = stock_thresholds_update(camera=camera, critical_level=12, target_capacity=30)
        assert state.count_status == Status.CRITICAL
        assert StockState.objects.get(camera=camera).count_status == Status.CRITICAL

    def test_status_stays_waiting_until_the_first_frame(self, camera_with_key):
        camera, _ = camera_with_key()
        state = stock_thresholds_update(camera=camera, critical_level=1, target_capacity=2)
        assert state.effective_status() == Status.WAITING

    @pytest.mark.parametrize(
        "critical,target,field,message",
        [(15, 15, "critical_level", "must be lower than the target capacity"),
         (20, 10, "critical_level", "must be lower than the target capacity"),
         (-1, 10, "critical_level", "greater than or equal to 0"),
         (1, -5, "target_capacity", "greater than or equal to 0")],
    )
    def test_invalid_thresholds_are_refused_with_a_clear_message(self, camera_with_key, critical, target, field,
                                                                 message):
        camera, _ = camera_with_key()
        with pytest.raises(ValidationError) as excinfo:
            stock_thresholds_update(camera=camera, critical_level=critical, target_capacity=target)
        assert message in " ".join(excinfo.value.message_dict[field])
        state = StockState.objects.get(camera=camera)
        assert (state.critical_level, state.target_capacity) == (3, 15)  # unchanged

    def test_smoothing_window_is_bounded_by_the_log_size(self, camera_with_key):
        camera, _ = camera_with_key()
        with pytest.raises(ValidationError) as excinfo:
            stock_thresholds_update(camera=camera, critical_level=1, target_capacity=5, smoothing_window=21)
        assert "smoothing_window" in excinfo.value.message_dict

    def test_quiet_camera_turns_offline(self, camera_with_key):
        camera, _ = camera_with_key()
        frame_record(camera=camera, result=result(10))
        state = StockState.objects.select_related("camera").get(camera=camera)
        later = timezone.now() + timedelta(seconds=camera.offline_timeout_s + 1)
        assert state.effective_status() == Status.WARNING
        assert state.effective_status(later) == Status.OFFLINE


@pytest.mark.django_db
def test_the_log_keeps_exactly_the_newest_twenty(camera_with_key):
    camera, _ = camera_with_key()
    other, _ = camera_with_key("other")
    events = [frame_record(camera=camera, result=result(n)) for n in range(25)]
    frame_record(camera=other, result=result(1))
    kept = list(DetectionEvent.objects.filter(camera=camera).values_list("raw_count", flat=True))
    assert kept == list(range(24, 4, -1))
    assert events[-1].pk == DetectionEvent.objects.filter(camera=camera).first().pk
    assert DetectionEvent.objects.filter(camera=other).count() == 1  # trimming is per camera


@pytest.mark.django_db
def test_a_frame_costs_nine_statements_once_the_log_is_full(camera_with_key, django_assert_num_queries):
    # The ingest transaction, pinned so a change in its round trips is deliberate (README "Performance"):
    # lock the state row, the smoothing window, the event, the trim (read the expired row's id and image,
    # unlink review frames, delete), the history reading, the state, the camera's last_seen_at.
    # (In the server they sit between BEGIN IMMEDIATE and COMMIT; in the test's own transaction
    # those are a savepoint pair.)
    camera, _ = camera_with_key(window=3)
    for n in range(20):
        frame_record(camera=camera, result=result(n))
    with django_assert_num_queries(11):  # 9 + SAVEPOINT + RELEASE SAVEPOINT
        frame_record(camera=camera, result=result(5))
    assert DetectionEvent.objects.filter(camera=camera).count() == 20


@pytest.mark.django_db
def test_nothing_is_deleted_while_the_log_is_not_full(camera_with_key, django_assert_num_queries):
    camera, _ = camera_with_key(window=3)
    frame_record(camera=camera, result=result(1))
    with django_assert_num_queries(9) as captured:  # the full log's 11 less the unlink and the delete
        frame_record(camera=camera, result=result(2))
    assert not any(q["sql"].startswith("DELETE") for q in captured.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_the_log_stays_at_twenty_under_concurrent_frames(camera_with_key):
    camera, _ = camera_with_key(window=5)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def post_frames(worker: int) -> None:
        try:
            start.wait()
            for i in range(6):
                frame_record(camera=camera, result=result(worker * 10 + i))
        except BaseException as exc:  # surfaced below: a lost frame must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post_frames, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = list(DetectionEvent.objects.filter(camera=camera).order_by("id").values_list("id", flat=True))
    assert len(ids) == 20
    # The survivors are the 20 newest of the 48 frames, and the state matches the newest one.
    newest = DetectionEvent.objects.filter(camera=camera).first()
    state = StockState.objects.get(camera=camera)
    assert (state.raw_count, state.smoothed_count) == (newest.raw_count, newest.smoothed_count)
    assert ids[-1] - ids[0] == 19


def test_sqlite_runs_in_wal_mode(db):
    if connection.vendor != "sqlite":
        pytest.skip("journal modes are SQLite's; this run is on " + connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
