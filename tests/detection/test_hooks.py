"""The "stock changed" hook (detection/hooks.py): announced after commit, ids only, never on a rollback,
and a failing listener never fails the frame that was stored."""

from __future__ import annotations

import pytest
from django.db import transaction

from detection.hooks import stock_changed_subscribe, stock_changed_unsubscribe
from detection.ingest.services import frame_record
from detection.models import DetectionEvent
from detection.stock.services import stock_thresholds_update
from tests.detection.test_stock import result


@pytest.fixture
def announced():
    heard: list[dict] = []

    def listener(**ids) -> None:
        heard.append(ids)

    stock_changed_subscribe(listener)
    yield heard
    stock_changed_unsubscribe(listener)


@pytest.mark.django_db(transaction=True)
def test_a_frame_is_announced_once_it_commits_with_ids_only(camera_with_key, announced):
    camera, _ = camera_with_key()
    announced.clear()  # setting its thresholds up was announced too
    with transaction.atomic():
        event = frame_record(camera=camera, result=result(7))
        assert announced == []  # not while the transaction may still roll back
    assert announced == [{"camera_id": camera.pk, "event_id": event.pk}]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_announces_nothing(camera_with_key, announced):
    camera, _ = camera_with_key()
    announced.clear()  # setting its thresholds up was announced too
    with pytest.raises(RuntimeError), transaction.atomic():
        frame_record(camera=camera, result=result(7))
        raise RuntimeError("the surrounding work failed")
    assert announced == [] and not DetectionEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_manager_change_is_announced_without_an_event(camera_with_key, announced):
    camera, _ = camera_with_key()
    announced.clear()  # setting its thresholds up was announced too
    stock_thresholds_update(camera=camera, critical_level=2, target_capacity=30)
    assert announced == [{"camera_id": camera.pk, "event_id": None}]


@pytest.mark.django_db(transaction=True)
def test_a_failing_listener_does_not_fail_the_frame(camera_with_key, announced):
    def broken(**ids) -> None:
        raise ConnectionError("the channel layer is down")

    stock_changed_subscribe(broken)
    try:
        camera, _ = camera_with_key()
        announced.clear()
        event = frame_record(camera=camera, result=result(3))
    finally:
        stock_changed_unsubscribe(broken)
    assert DetectionEvent.objects.filter(pk=event.pk).exists()
    assert announced == [{"camera_id": camera.pk, "event_id": event.pk}]  # the others still hear it
