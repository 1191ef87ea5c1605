"""One frame's push is rendered once for all the screens that show it alike (dashboard/panels.py)."""

from __future__ import annotations

import pytest

from dashboard import panels
from dashboard.triage import DashboardView, LiveGrid
from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record

pytestmark = pytest.mark.django_db


def result(count: int) -> DetectionResult:
    boxes = [Detection(i, i, i + 10, i + 10, 0.9, 0) for i in range(count)]
    return DetectionResult(detections=boxes, image_width=640, image_height=480, inference_ms=5.0)


@pytest.fixture(autouse=True)
def _empty_cache():
    panels.shared_renders.clear()
    yield
    panels.shared_renders.clear()


def screen(view: DashboardView | None = None) -> LiveGrid:
    grid = LiveGrid(view or DashboardView())
    panels.snapshot_html(panels.Viewer(can_manage=False), grid=grid)  # what a socket does on connect
    return grid


def test_the_second_screen_of_a_frame_costs_no_query(camera_with_key, django_assert_num_queries):
    camera, _ = camera_with_key()
    first, second = screen(), screen()
    event = frame_record(camera=camera, result=result(7))
    html = panels.update_html(panels.Viewer(can_manage=True), camera_id=camera.pk, event_id=event.pk, grid=first)
    with django_assert_num_queries(0):
        again = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=event.pk,
                                   grid=second)
    assert again == html and ">7<" in html


def test_screens_with_another_view_get_their_own_render(camera_with_key):
    camera, _ = camera_with_key()
    other, _ = camera_with_key("dock-2")
    everything, only_other = screen(), screen(DashboardView(camera="dock-2"))
    event = frame_record(camera=camera, result=result(7))
    html = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=event.pk,
                              grid=everything)
    filtered = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=event.pk,
                                  grid=only_other)
    assert 'id="activity-log"' in html and 'id="activity-log"' not in filtered  # its log shows dock-2 only


def test_the_next_frame_is_rendered_afresh(camera_with_key):
    camera, _ = camera_with_key()
    grid = screen()
    first = frame_record(camera=camera, result=result(7))
    panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=first.pk, grid=grid)
    second = frame_record(camera=camera, result=result(12))
    html = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=second.pk, grid=grid)
    assert ">12<" in html


def test_a_threshold_change_is_rendered_per_screen(camera_with_key):
    camera, _ = camera_with_key()
    grid = screen()
    manager = panels.update_html(panels.Viewer(can_manage=True, csrf_token="tok-a"), camera_id=camera.pk,
                                 event_id=None, grid=grid)
    operator = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=None, grid=grid)
    assert "tok-a" in manager and "tok-a" not in operator
    assert len(panels.shared_renders._items) == 0
