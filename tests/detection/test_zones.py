"""Counting zones: only boxes whose centre lies in a zone are counted; a zone change counts again at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record
from detection.models import DetectionEvent, StockState
from detection.stock.services import stock_zones_update
from detection.stock.zones import boxes_count, in_zones, zones_validate

LEFT_HALF = [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]]


def frame(left: int, right: int) -> DetectionResult:
    """A 1000x500 frame with `left` boxes centred in its left half and `right` in its right half."""
    boxes = [Detection(100 + i, 100, 140 + i, 140, 0.9, 0) for i in range(left)]
    boxes += [Detection(700 + i, 300, 760 + i, 360, 0.8, 0) for i in range(right)]
    return DetectionResult(boxes, 1000, 500, 5.0)


class TestValidation:
    def test_it_accepts_triangles_and_quads_and_stores_floats(self):
        assert zones_validate([[[0, 0], [1, 0], [0, 1]]]) == [[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]]
        assert zones_validate([]) == []

    @pytest.mark.parametrize("zones, reason", [
        ([[[0.1, 0.1], [0.9, 0.1]]], "at least 3 points (got 2)"),
        ([[[0.1, 0.1], [1.2, 0.1], [0.5, 0.9]]], "point 2: coordinates must lie within 0..1"),
        ([[[0.1, 0.1], [0.9, 0.1], [0.5, -0.1]]], "within 0..1"),
        # A bow tie: the edges 1 and 3 cross in the middle.
        ([[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]], "crosses itself"),
        ([[[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]], "on one line"),
        ([[[0.1, 0.1], ["a", 0.1], [0.5, 0.9]]], "must be [x, y] with two numbers"),
        ("not a list", "list of polygons"),
        ([[[0, 0], [1, 0], [0, 1]]] * 9, "At most 8 zones"),
    ])
    def test_it_refuses_invalid_polygons_with_the_reason(self, zones, reason):
        with pytest.raises(ValidationError) as exc:
            zones_validate(zones)
        assert any(reason in message for message in exc.value.messages), exc.value.messages

    def test_every_bad_zone_is_named(self):
        with pytest.raises(ValidationError) as exc:
            zones_validate([[[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 1]], [[0, 0], [2, 0], [0, 1]]])
        assert [message.split(":")[0] for message in exc.value.messages] == ["Zone 2", "Zone 3, point 2"]


def test_only_box_centres_inside_a_zone_are_counted():
    assert in_zones(0.25, 0.5, LEFT_HALF) and not in_zones(0.75, 0.5, LEFT_HALF)
    assert in_zones(0.75, 0.5, [])  # no zones: the whole frame
    # A box straddling the border counts where its centre is.
    boxes, count = boxes_count([[0.3, 0.1, 0.6, 0.2, 0.9], [0.45, 0.1, 0.9, 0.2, 0.8]], LEFT_HALF)
    assert count == 1 and [box[5] for box in boxes] == [True, False]


@pytest.mark.django_db
class TestCounting:
    def test_ingest_counts_only_in_zone_boxes_and_keeps_the_others_uncounted(self, camera_with_key):
        camera, _ = camera_with_key(critical=3, target=15)
        stock_zones_update(camera=camera, zones=LEFT_HALF)
        event = frame_record(camera=camera, result=frame(left=2, right=6))
        assert (event.raw_count, event.status) == (2, "CRITICAL")  # 8 boxes seen, 2 in the zone
        assert [box[5] for box in event.boxes] == [True] * 2 + [False] * 6
        assert all(0 <= value <= 1 for box in event.boxes for value in box[:4])
        state = StockState.objects.get(camera=camera)
        assert (state.raw_count, state.smoothed_count, state.count_status) == (2, 2, "CRITICAL")

    def test_drawing_a_zone_re_evaluates_count_and_status_at_once(self, camera_with_key, settings,
                                                                   django_capture_on_commit_callbacks):
        settings.ALERT_EMAILS = ["manager@example.com"]
        camera, _ = camera_with_key(critical=3, target=15)
        frame_record(camera=camera, result=frame(left=2, right=14))
        assert StockState.objects.get(camera=camera).count_status == "FULL"  # 16 boxes, no zones
        with django_capture_on_commit_callbacks() as callbacks:
            stock_zones_update(camera=camera, zones=LEFT_HALF)
        state = StockState.objects.get(camera=camera)
        assert (state.raw_count, state.smoothed_count, state.count_status) == (2, 2, "CRITICAL")
        assert callbacks, "dashboards must be told"
        latest = DetectionEvent.objects.filter(camera=camera).first()
        assert latest.raw_count == 2 and sum(box[5] for box in latest.boxes) == 2
        # The timeline and the alert outbox see the change now, not at the next frame.
        from detection.alerts.models import AlertDelivery
        from detection.history.models import StatusChange

        assert StatusChange.objects.filter(camera=camera, to_status="CRITICAL").exists()
        assert AlertDelivery.objects.filter(camera=camera, status="CRITICAL").exists()
        # Clearing the zones counts the whole frame again.
        stock_zones_update(camera=camera, zones=[])
        state.refresh_from_db()
        assert (state.raw_count, state.count_status) == (16, "FULL")

    def test_smoothing_continues_from_counts_made_with_the_new_zones(self, camera_with_key):
        camera, _ = camera_with_key(critical=3, target=15, window=3)
        for _ in range(3):
            frame_record(camera=camera, result=frame(left=2, right=14))
        stock_zones_update(camera=camera, zones=LEFT_HALF)
        assert StockState.objects.get(camera=camera).smoothed_count == 2  # all three re-counted
        # The next frame's median is over in-zone counts, so it does not jump back to 16.
        event = frame_record(camera=camera, result=frame(left=2, right=14))
        assert (event.raw_count, event.smoothed_count, event.status) == (2, 2, "CRITICAL")

    def test_invalid_zones_are_refused_and_nothing_changes(self, camera_with_key):
        camera, _ = camera_with_key()
        frame_record(camera=camera, result=frame(left=2, right=6))
        with pytest.raises(ValidationError) as exc:
            stock_zones_update(camera=camera, zones=[[[0.1, 0.1], [0.2, 0.2]]])
        assert "at least 3 points" in exc.value.message_dict["zones"][0]
        state = StockState.objects.get(camera=camera)
        assert (state.zones, state.raw_count) == ([], 8)


@pytest.mark.django_db
def test_the_admin_refuses_a_self_crossing_zone_and_saves_a_good_one(admin_client, camera_with_key):
    camera, _ = camera_with_key(critical=3, target=15)
    frame_record(camera=camera, result=frame(left=2, right=14))
    url = f"/admin/detection/stockstate/{camera.pk}/change/"
    form = {"critical_level": 3, "target_capacity": 15, "smoothing_window": 1}
    response = admin_client.post(url, {**form, "zones": "[[[0.1,0.1],[0.9,0.9],[0.9,0.1],[0.1,0.9]]]"})
    assert response.status_code == 200
    assert "crosses itself" in response.content.decode()
    response = admin_client.post(url, {**form, "zones": '[[[0,0],[0.5,0],[0.5,1],[0,1]]]'})
    assert response.status_code == 302
    state = StockState.objects.get(camera=camera)
    assert (state.zones, state.raw_count, state.count_status) == (LEFT_HALF, 2, "CRITICAL")
