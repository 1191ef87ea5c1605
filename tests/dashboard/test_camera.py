"""The camera page: latest frame with its boxes, the kept events, their frames behind a login and a
role, and the zone editor (managers only, clear errors, count again at once). Real frames, real model."""

from __future__ import annotations

import json
import re

import pytest
from channels.db import database_sync_to_async
from django.core.files.storage import default_storage

from detection.ingest.services import frame_analyze, frame_record
from detection.models import DetectionEvent, StockState
from detection.stock.frames import frame_store
from tests.dashboard.test_consumer import connect

LEFT_HALF = [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]]


def ingest(camera, image_path) -> DetectionEvent:
    """The real path: the shipped model, the frame stored before the transaction, then the write."""
    data = image_path.read_bytes()
    return frame_record(camera=camera, result=frame_analyze(data=data),
                        frame=frame_store(camera_slug=camera.slug, data=data))


@pytest.fixture
def dock(camera_with_key, real_images):
    camera, _ = camera_with_key("dock-1", critical=3, target=15)
    events = [ingest(camera, path) for path in real_images[:3]]
    return camera, events


@pytest.mark.django_db
class TestCameraPage:
    def test_it_shows_the_latest_frame_with_its_boxes_and_the_kept_events(self, client, viewer, dock):
        camera, events = dock
        client.force_login(viewer)
        html = client.get("/cameras/dock-1/").content.decode()
        latest = events[-1]
        assert f'src="/cameras/dock-1/events/{latest.pk}/image"' in html
        # One rectangle per box the model drew on the latest frame, all counted (no zones).
        latest_block = html[html.index('id="camera-latest"'):html.index('id="camera-selected"')]
        assert latest_block.count('class="box box-counted"') == latest.raw_count > 0
        for event in events:
            assert f'id="camera-event-{event.pk}"' in html
        assert 'id="event-history"' in html and html.count("<title>") >= len(events)
        assert 'href="/cameras/dock-1/trends/"' in html
        assert 'id="thresholds-dock-1"' in html
        assert 'name="zones"' not in html  # an operator sees the zones, cannot change them

    def test_the_dashboard_card_links_to_the_camera_page(self, client, viewer, dock):
        client.force_login(viewer)
        assert 'href="/cameras/dock-1/"' in client.get("/").content.decode()

    def test_clicking_an_event_shows_its_frame(self, client, viewer, dock):
        _, events = dock
        client.force_login(viewer)
        first = events[0]
        html = client.get(f"/cameras/dock-1/events/{first.pk}/", HTTP_HX_REQUEST="true").content.decode()
        assert html.strip().startswith('<div id="camera-selected">')
        assert f'src="/cameras/dock-1/events/{first.pk}/image"' in html
        assert html.count('class="box box-counted"') == first.raw_count
        # Without htmx (a link opened in a new tab) it is the whole page with that frame selected.
        page = client.get(f"/cameras/dock-1/?event={first.pk}").content.decode()
        selected = page[page.index('id="camera-selected"'):]
        assert f'data-event-id="{first.pk}"' in selected

    def test_an_unknown_or_inactive_camera_is_404(self, client, viewer):
        client.force_login(viewer)
        assert client.get("/cameras/nope/").status_code == 404


@pytest.mark.django_db
class TestFrameImage:
    def test_a_logged_in_operator_gets_the_stored_bytes(self, client, viewer, dock):
        _, events = dock
        client.force_login(viewer)
        response = client.get(f"/cameras/dock-1/events/{events[0].pk}/image")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert "private" in response["Cache-Control"]
        with default_storage.open(events[0].image.name) as fh:
            assert response.content == fh.read()

    def test_anonymous_users_are_sent_to_log_in(self, client, dock):
        _, events = dock
        response = client.get(f"/cameras/dock-1/events/{events[0].pk}/image")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_a_user_without_a_role_is_refused(self, client, nobody, dock):
        _, events = dock
        client.force_login(nobody)
        assert client.get(f"/cameras/dock-1/events/{events[0].pk}/image").status_code == 403

    def test_media_files_are_not_served_publicly(self, client, viewer, dock):
        _, events = dock
        client.force_login(viewer)
        assert client.get(f"/media/{events[0].image.name}").status_code == 404

    def test_another_cameras_event_or_a_trimmed_one_is_404(self, client, viewer, dock, camera_with_key):
        _, events = dock
        camera_with_key("dock-2")
        client.force_login(viewer)
        assert client.get(f"/cameras/dock-2/events/{events[0].pk}/image").status_code == 404
        DetectionEvent.objects.filter(pk=events[0].pk).delete()
        assert client.get(f"/cameras/dock-1/events/{events[0].pk}/image").status_code == 404


@pytest.mark.django_db
class TestZoneEditor:
    def post(self, client, zones, htmx=True):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        value = zones if isinstance(zones, str) else json.dumps(zones)
        return client.post("/cameras/dock-1/zones/", {"zones": value}, **headers)

    def test_a_manager_saves_zones_and_the_page_counts_again_at_once(self, client, manager, dock):
        _, events = dock
        latest = events[-1]
        inside = sum((box[0] + box[2]) / 2 < 0.5 for box in latest.boxes)
        assert 0 < inside < latest.raw_count, "the test frame needs boxes on both sides"
        client.force_login(manager)
        response = self.post(client, LEFT_HALF)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-field="zones-saved"' in html
        # The fresh count and the greyed boxes come back out-of-band with the answer.
        assert f'data-field="count" class="text-4xl font-bold tabular-nums">{inside}<' in html
        latest_block = html[html.index('id="camera-latest"'):]
        assert latest_block.count("box box-counted") == inside
        assert latest_block.count("box box-outside") == latest.raw_count - inside
        state = StockState.objects.get(camera__slug="dock-1")
        assert (state.zones, state.raw_count) == (LEFT_HALF, inside)

    @pytest.mark.parametrize("zones, reason", [
        ([[[0.1, 0.1], [0.9, 0.1]]], "Zone 1: a zone needs at least 3 points (got 2)."),
        ([[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]], "crosses itself"),
        ([[[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]], "coordinates must lie within 0..1"),
        ("[[[0.1, 0.1]", "not valid JSON"),
    ])
    def test_invalid_zones_get_a_clear_error_and_change_nothing(self, client, manager, dock, zones, reason):
        client.force_login(manager)
        response = self.post(client, zones)
        assert response.status_code == 422
        html = response.content.decode()
        errors = re.search(r'data-field="zone-errors">(.*?)</ul>', html, re.S).group(1)
        assert reason in errors
        assert StockState.objects.get(camera__slug="dock-1").zones == []

    def test_an_operator_may_not_change_zones(self, client, viewer, dock):
        client.force_login(viewer)
        assert self.post(client, LEFT_HALF).status_code == 403
        assert StockState.objects.get(camera__slug="dock-1").zones == []

    def test_without_htmx_a_save_redirects_back_to_the_page(self, client, manager, dock):
        client.force_login(manager)
        response = self.post(client, LEFT_HALF, htmx=False)
        assert response.status_code == 302 and response["Location"] == "/cameras/dock-1/#zones"
        html = client.get("/cameras/dock-1/").content.decode()
        assert html.count('class="zone"') == 1  # drawn on the latest frame
        assert 'name="zones"' in html


@pytest.mark.django_db(transaction=True)
async def test_the_camera_socket_pushes_its_frames_and_nothing_of_other_cameras(viewer, camera_with_key, real_images):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    other, _ = await database_sync_to_async(camera_with_key)("dock-2")
    communicator, connected = await connect(viewer, path="/ws/cameras/dock-1/")
    assert connected
    snapshot = await communicator.receive_from(timeout=5)
    assert 'id="camera-summary" hx-swap-oob="true"' in snapshot and "No frame yet." in snapshot
    await database_sync_to_async(ingest)(other, real_images[0])
    assert await communicator.receive_nothing(timeout=0.5)
    event = await database_sync_to_async(ingest)(camera, real_images[1])
    html = await communicator.receive_from(timeout=10)
    assert f'src="/cameras/dock-1/events/{event.pk}/image"' in html
    assert f'id="camera-event-{event.pk}"' in html
    assert f'data-field="count" class="text-4xl font-bold tabular-nums">{event.smoothed_count}<' in html
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_camera_socket_refuses_users_without_a_role(nobody, camera_with_key):
    await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(nobody, path="/ws/cameras/dock-1/")
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


@pytest.mark.django_db
def test_the_admin_shows_an_events_frame_through_the_checked_view_never_a_media_link(admin_client, dock):
    _, events = dock
    html = admin_client.get(f"/admin/detection/detectionevent/{events[0].pk}/change/").content.decode()
    assert f'src="/cameras/dock-1/events/{events[0].pk}/image"' in html
    assert "/media/" not in html


@pytest.mark.django_db
class TestZoneEditorWarnings:
    def test_it_warns_when_the_frame_to_draw_on_is_a_fault_frame(self, client, manager, dock, tmp_path):
        from PIL import Image

        camera, _ = dock
        covered = tmp_path / "covered.jpg"
        Image.new("RGB", (640, 480), (2, 2, 2)).save(covered, "JPEG")
        event = ingest(camera, covered)
        assert event.status == "FAULT" and event.image
        client.force_login(manager)
        editor = client.get("/cameras/dock-1/").content.decode().split('id="zone-editor"', 1)[1]
        assert 'data-field="zone-fault-warning"' in editor and "could not be counted" in editor
        assert "· FAULT</p>" in editor  # the frame's time and state under it

    def test_a_clear_frame_gets_no_fault_warning_but_says_which_frame_it_is(self, client, manager, dock):
        _, events = dock
        client.force_login(manager)
        editor = client.get("/cameras/dock-1/").content.decode().split('id="zone-editor"', 1)[1]
        assert 'data-field="zone-fault-warning"' not in editor
        assert f'data-event-id="{events[-1].pk}"' in editor and 'data-field="zone-frame-time"' in editor
        # Hidden until camera.js sees a newer frame than the one the editor opened with.
        assert re.search(r'data-field="zone-stale-warning" role="status" hidden', editor)
        assert '<label for="zones-json" class="sr-only">' in editor  # the JSON textarea has a name


@pytest.mark.django_db
def test_buttons_and_hint_text_use_aa_contrast_colours(client, manager, dock):
    # White on emerald-600 was 3.77:1 and slate-500 hints on slate-900 3.75:1 (AA asks 4.5:1).
    client.force_login(manager)
    for url in ("/", "/cameras/dock-1/"):
        html = client.get(url).content.decode()
        assert "bg-emerald-600" not in html and "text-slate-500" not in html, url
        assert "btn-primary" in html, url
