"""detection/rows.py: the ingest's statements with their SQL made once must read and write exactly
what the ORM would (datetimes, JSON, NULLs, foreign keys), on SQLite and on PostgreSQL (./test.sh's
second pass runs this file there too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from detection import rows
from detection.history.models import Reading
from detection.stock.models import DetectionEvent, Status, StockState
from devices.models import Camera

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def camera(camera_with_key) -> Camera:
    return camera_with_key()[0]


def test_a_selected_row_is_the_instance_the_orm_reads(camera):
    StockState.objects.filter(camera=camera).update(
        last_frame_at=MOMENT, history_minute={"minute": MOMENT.isoformat(), "counts": [3, 4]},
        zones=[{"name": "shelf", "points": [[0, 0], [1, 0], [1, 1]]}], smoothed_count=None, fault="dark")
    select = rows.Select(StockState, rows.field_names(StockState), "{camera} = %s", for_update=True)
    with transaction.atomic():
        [state] = select.instances(camera.pk)
    expected = StockState.objects.get(camera=camera)
    for field in StockState._meta.concrete_fields:
        assert getattr(state, field.attname) == getattr(expected, field.attname), field.name
    assert state.last_frame_at == MOMENT and state.last_frame_at.tzinfo is not None
    assert state.history_minute["counts"] == [3, 4] and state.smoothed_count is None
    assert not state._state.adding and state._state.db == "default"
    assert select.instances(camera.pk + 1000) == []


def test_select_locks_the_row_only_where_the_database_can(camera):
    select = rows.Select(StockState, ["camera"], "{camera} = %s", for_update=True)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        select.rows(camera.pk)
    assert ("FOR UPDATE" in queries[-1]["sql"]) == connection.features.has_select_for_update


def test_rows_order_limit_and_offset_follow_the_where_clause(camera):
    for count in range(5):
        DetectionEvent.objects.create(camera=camera, created_at=MOMENT, raw_count=count, inference_ms=1.0,
                                      status=Status.FAULT if count == 2 else Status.WARNING)
    recent = rows.Select(DetectionEvent, ["raw_count"], "{camera} = %s AND {status} <> %s ORDER BY {id} DESC LIMIT %s")
    assert recent.rows(camera.pk, Status.FAULT, 3) == [(4,), (3,), (1,)]
    older = rows.Select(DetectionEvent, ["id", "image"], "{camera} = %s ORDER BY {id} DESC LIMIT %s OFFSET %s")
    expected = list(DetectionEvent.objects.filter(camera=camera).order_by("-id").values_list("id", "image")[3:])
    assert older.rows(camera.pk, 100, 3) == expected and len(expected) == 2
    [instance, _] = older.instances(camera.pk, 100, 3)
    assert instance.get_deferred_fields() >= {"boxes", "raw_count"}


def test_an_inserted_instance_reads_back_equal_and_gets_its_id(camera):
    insert = rows.Insert(DetectionEvent, rows.field_names(DetectionEvent, exclude=["id"]))
    event = insert.run(DetectionEvent(
        camera=camera, created_at=MOMENT, captured_at=None, raw_count=7, smoothed_count=6, status=Status.WARNING,
        inference_ms=12.5, image="frames/dock-1/x.jpg", boxes=[{"x1": 0.1, "counted": True}], model_label="m"))
    assert event.pk is not None and not event._state.adding
    stored = DetectionEvent.objects.get(pk=event.pk)
    assert (stored.created_at, stored.captured_at, stored.raw_count, stored.smoothed_count) == (MOMENT, None, 7, 6)
    assert stored.image.name == "frames/dock-1/x.jpg" and stored.boxes == [{"x1": 0.1, "counted": True}]
    assert stored.fault == "" and stored.model_version_id is None  # defaults, as the ORM's insert sends them
    second = insert.run(DetectionEvent(camera=camera, created_at=MOMENT, raw_count=1, status=Status.WARNING,
                                       inference_ms=1.0))
    assert second.pk > event.pk


def test_an_upsert_inserts_then_updates_the_same_row(camera):
    upsert = rows.Insert(Reading, rows.field_names(Reading, exclude=["id"]), conflict=["camera", "minute"])
    minute = MOMENT.replace(second=0, microsecond=0)
    upsert.run(Reading(camera=camera, minute=minute, first_count=3, last_count=3, min_count=3, max_count=3,
                       median_count=3.0, frames=1, status=Status.WARNING))
    upsert.run(Reading(camera=camera, minute=minute, first_count=3, last_count=9, min_count=3, max_count=9,
                       median_count=6.0, frames=2, status=Status.FULL, seconds_full=4))
    upsert.run(Reading(camera=camera, minute=minute + timedelta(minutes=1), frames=1, status=Status.FULL))
    readings = list(Reading.objects.filter(camera=camera).order_by("minute"))
    assert len(readings) == 2
    assert (readings[0].last_count, readings[0].frames, readings[0].status, readings[0].seconds_full) == \
        (9, 2, Status.FULL, 4)
    assert readings[1].first_count is None


def test_an_update_writes_exactly_its_fields(camera):
    update = rows.Update(StockState, ["last_frame_at", "history_minute", "fault_since", "count_status"])
    changed = update.run(camera.pk, {"last_frame_at": MOMENT, "history_minute": {"counts": [1, None]},
                                     "fault_since": None, "count_status": Status.FULL})
    assert changed == 1
    state = StockState.objects.get(camera=camera)
    assert (state.last_frame_at, state.history_minute, state.fault_since, state.count_status) == \
        (MOMENT, {"counts": [1, None]}, None, Status.FULL)
    assert state.critical_level == 3  # untouched
    assert update.run(camera.pk + 1000, {"last_frame_at": MOMENT, "history_minute": {}, "fault_since": None,
                                         "count_status": Status.FULL}) == 0


def _event(camera, **fields) -> DetectionEvent:
    return DetectionEvent.objects.create(camera=camera, created_at=MOMENT, raw_count=1, inference_ms=1.0,
                                         status=Status.WARNING, **fields)


def test_delete_does_what_the_collector_does_for_rows_nothing_cascades_from(camera):
    from django.db.models.signals import post_delete, pre_delete

    from detection.review.models import ReviewFrame

    events = [_event(camera, image=f"frames/dock-1/{n}.jpg") for n in range(3)]
    review = ReviewFrame.objects.create(camera=camera, event=events[0], image="review/a.jpg", image_width=64,
                                        image_height=48, model_count=1, frame_at=MOMENT, created_at=MOMENT,
                                        reason=ReviewFrame.Reason.FLAGGED)
    heard = []

    def listener(signal_name):
        return lambda sender, instance, using, **kwargs: heard.append((signal_name, instance.image.name, using))

    pre, post = listener("pre"), listener("post")
    pre_delete.connect(pre, sender=DetectionEvent)
    post_delete.connect(post, sender=DetectionEvent)
    try:
        with CaptureQueriesContext(connection) as queries:
            rows.Delete(DetectionEvent).run(events[:2])
    finally:
        pre_delete.disconnect(pre, sender=DetectionEvent)
        post_delete.disconnect(post, sender=DetectionEvent)
    assert list(DetectionEvent.objects.filter(camera=camera).values_list("pk", flat=True)) == [events[2].pk]
    review.refresh_from_db()
    assert review.event_id is None and review.image.name == "review/a.jpg"  # SET_NULL, the copy stays
    assert sorted(heard) == sorted([(kind, f"frames/dock-1/{n}.jpg", "default") for kind in ("pre", "post")
                                    for n in (0, 1)])
    assert events[0].pk is None  # as the Collector leaves deleted instances
    statements = [query["sql"] for query in queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2  # the review frames' UPDATE and the DELETE


def test_delete_hands_rows_with_cascades_to_the_collector(camera):
    _event(camera)
    assert rows.Delete(Camera)._nulled is None  # events, keys, ... cascade
    rows.Delete(Camera).run([Camera.objects.get(pk=camera.pk)])
    assert not Camera.objects.filter(pk=camera.pk).exists()
    assert not DetectionEvent.objects.filter(camera_id=camera.pk).exists()
