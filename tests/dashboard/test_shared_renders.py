"""One frame's push is rendered once for all the screens that show it alike (dashboard/panels.py)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import panels
from dashboard.pushes import Updates
from dashboard.triage import DashboardView, LiveGrid
from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record
from devices.models import Camera

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
    assert 'id="activity-new"' in html and 'id="activity-new"' not in filtered  # its log shows dock-2 only


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


def test_a_merged_push_sends_the_new_log_rows_once_each_highlighted(camera_with_key):
    # Several frames merged into one push (dashboard/pushes.py): one set of rows, and each slides in.
    one, _ = camera_with_key()
    two, _ = camera_with_key("dock-2")
    grid = screen()
    events = [frame_record(camera=camera, result=result(count)) for camera, count in [(one, 7), (two, 8), (one, 9)]]
    updates = Updates()
    for event in events:
        updates.add(event.camera_id, event.pk)
    html = panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)
    assert html.count('id="activity-new"') == 1 and html.count('id="system-status"') == 1
    assert all(re.search(rf'id="event-{event.pk}"[^>]*class="row-new"', html) for event in events)
    rows = [int(found) for found in re.findall(r'<tr id="event-(\d+)"', html)]
    assert rows == sorted((event.pk for event in events), reverse=True)  # newest first, as the page shows them
    for slug, count in [("dock-1", 9), ("dock-2", 8)]:  # each card at its newest frame
        card = html.split(f'id="camera-{slug}"', 1)[1].split("</article>", 1)[0]
        assert f'data-field="count" class="text-5xl font-bold tabular-nums">{count}<' in card


def test_the_second_screen_of_a_merged_push_costs_no_query(camera_with_key, django_assert_num_queries):
    one, _ = camera_with_key()
    two, _ = camera_with_key("dock-2")
    first, second = screen(), screen()
    updates = Updates()
    for camera in (one, two):
        updates.add(camera.pk, frame_record(camera=camera, result=result(7)).pk)
    html = panels.updates_html(panels.Viewer(can_manage=True), updates=updates, grid=first)
    with django_assert_num_queries(0):
        assert panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=second) == html


def test_a_merged_push_re_renders_the_grid_once_when_any_card_moves(camera_with_key):
    # On a CRITICAL-only screen dock-2 turning critical must appear; the grid is sent once, not per card.
    one, _ = camera_with_key()
    two, _ = camera_with_key("dock-2")
    frame_record(camera=one, result=result(1))
    grid = screen(DashboardView(status="CRITICAL"))
    updates = Updates()
    updates.add(one.pk, frame_record(camera=one, result=result(2)).pk)
    updates.add(two.pk, frame_record(camera=two, result=result(1)).pk)
    html = panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)
    assert html.count('id="inventory"') == 1 and 'id="camera-dock-2"' in html
    assert grid.shown == ("dock-1", "dock-2")


def test_a_push_reads_its_cards_in_one_query_however_many_cameras_it_carries(camera_with_key):
    # A merged push may carry every camera of the site (a busy box merges more): a query per camera's
    # card made the first screen's render grow with them.
    cameras = [camera_with_key(f"dock-{number}")[0] for number in range(1, 7)]
    for camera in cameras:
        frame_record(camera=camera, result=result(7))  # every card already counted: each is swapped in place

    def queries(carried: list) -> int:
        grid = screen()
        updates = Updates()
        for camera in carried:
            updates.add(camera.pk, frame_record(camera=camera, result=result(8)).pk)
        panels.shared_renders.clear()  # the first screen of the push: nothing built yet
        with CaptureQueriesContext(connection) as captured:
            html = panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)
        assert all(f'id="camera-{camera.slug}" hx-swap-oob="true"' in html for camera in carried)
        return len(captured)

    assert queries(cameras[:1]) == queries(cameras)


def test_a_camera_deactivated_before_its_push_leaves_the_grid(camera_with_key):
    # The cards are read together; one that is gone by then has none, and the grid is sent without it.
    one, _ = camera_with_key()
    two, _ = camera_with_key("dock-2")
    grid = screen()
    updates = Updates()
    for camera in (one, two):
        updates.add(camera.pk, frame_record(camera=camera, result=result(7)).pk)
    Camera.objects.filter(pk=two.pk).update(is_active=False)
    html = panels.updates_html(panels.Viewer(can_manage=False), updates=updates, grid=grid)
    assert html.count('id="inventory"') == 1 and 'id="camera-dock-1"' in html and 'id="camera-dock-2"' not in html
    assert grid.shown == ("dock-1",)


def test_a_push_sends_only_the_new_log_rows(camera_with_key):
    # The log is the push's largest part: its camera links and 20 rows, re-sent for every frame to
    # every screen. The page already has the old rows; it puts the new ones on top (dashboard.js).
    camera, _ = camera_with_key()
    old = [frame_record(camera=camera, result=result(count)) for count in (3, 4)]
    grid = screen()
    new = frame_record(camera=camera, result=result(7))
    html = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=new.pk, grid=grid)
    assert '<template id="activity-new" hx-swap-oob="true">' in html
    assert f'id="event-{new.pk}"' in html and not any(f'id="event-{event.pk}"' in html for event in old)
    assert 'id="activity-log"' not in html and "Filter activity by camera" not in html


def test_a_camera_added_since_the_log_was_sent_brings_the_whole_log(camera_with_key):
    # The log's camera links must follow the cameras, as when every push re-sent it whole.
    camera, _ = camera_with_key()
    grid = screen()
    camera_with_key("dock-2")
    first = frame_record(camera=camera, result=result(7))
    html = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=first.pk, grid=grid)
    assert '<div id="activity-log" hx-swap-oob="true"' in html and "?camera=dock-2#activity" in html
    second = frame_record(camera=camera, result=result(8))
    html = panels.update_html(panels.Viewer(can_manage=False), camera_id=camera.pk, event_id=second.pk, grid=grid)
    assert 'id="activity-log"' not in html and f'id="event-{second.pk}"' in html  # rows again


def test_a_camera_page_push_renders_only_its_new_event_row(camera_with_key, monkeypatch):
    from dashboard import camera as camera_page

    camera, _ = camera_with_key()
    for count in (3, 5, 7):
        frame_record(camera=camera, result=result(count))
    viewer = panels.Viewer(can_manage=False)
    first = camera_page.render_live(camera_page.camera_context(camera.pk, viewer), thresholds=False)
    frame_record(camera=camera, result=result(9))
    rendered = []
    real = camera_page.render_to_string
    monkeypatch.setattr(camera_page, "render_to_string",
                        lambda name, context: rendered.append(name) or real(name, context))
    cached = camera_page.render_live(camera_page.camera_context(camera.pk, viewer), thresholds=False)
    # The new row (on top, highlighted) and the row that is no longer on top; the two below are reused.
    assert rendered.count("dashboard/camera.html#camera-event-row") == 2
    panels.shared_renders.clear()
    assert cached == camera_page.render_live(camera_page.camera_context(camera.pk, viewer), thresholds=False)
    assert cached.count("row-new") == first.count("row-new") == 1 and ">9<" in cached


def test_a_camera_page_push_reads_the_camera_in_two_queries(camera_with_key, django_assert_num_queries, settings):
    # The card, the events and the zones all come from two reads (it was four: the card's own prefetch
    # of the log, the events again, the state again for its zones).
    from dashboard import camera as camera_page
    from detection.stock.services import stock_zones_update

    settings.ACTIVITY_LOG_SIZE = 25
    camera, _ = camera_with_key()
    zone = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
    stock_zones_update(camera=camera, zones=[zone])
    for count in range(1, 24):
        frame_record(camera=camera, result=result(count % 9))
    with django_assert_num_queries(2):
        context = camera_page.camera_context(camera.pk, panels.Viewer(can_manage=False))
    assert [event.raw_count for event in context["events"]][:3] == [23 % 9, 22 % 9, 21 % 9]
    assert len(context["events"]) == 20  # the page's rows
    assert len(context["card"].trend) == 23  # the card's trend: every kept event, as on the dashboard
    assert context["card"].trend == [event.raw_count for event in reversed(
        list(camera.events.order_by("-id")))] and context["zones"] == [zone]
    camera.is_active = False
    camera.save(update_fields=["is_active"])
    assert camera_page.camera_context(camera.pk, panels.Viewer(can_manage=False)) is None
