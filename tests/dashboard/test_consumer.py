"""The dashboard WebSocket: who may connect, the snapshot on (re)connect, pushes after a frame."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from dashboard.broadcasts import DASHBOARD_GROUP
from detection.ingest.services import frame_analyze, frame_record
from detection.stock.services import stock_thresholds_update
from inventory_monitor.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


@database_sync_to_async
def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken=abc".encode()


async def connect(user=None, path: str = "/ws/dashboard/") -> tuple[WebsocketCommunicator, bool]:
    headers = [ORIGIN, (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


@database_sync_to_async
def ingest(camera, image_path):
    # The real path: the shipped model on a real frame, then the transactional write whose
    # on_commit hook broadcasts to the dashboard group.
    return frame_record(camera=camera, result=frame_analyze(data=image_path.read_bytes()))


async def test_anonymous_sockets_are_closed_as_signed_out_without_data(camera_with_key):
    communicator, connected = await connect(user=None)
    # Accepted only to be closed with the code the page turns into "Signed out" + login page.
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_a_user_in_no_group_is_closed_as_no_access_without_data(nobody, camera_with_key):
    await database_sync_to_async(camera_with_key)("dock-1")
    communicator, connected = await connect(user=nobody)
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused(viewer):
    communicator = WebsocketCommunicator(application, "/ws/dashboard/",
                                         headers=[(b"origin", b"http://evil.example"), (b"host", b"localhost")])
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_a_logged_in_user_gets_a_full_snapshot(viewer, camera_with_key):
    await database_sync_to_async(camera_with_key)("dock-1")
    communicator, connected = await connect(viewer)
    assert connected
    html = await communicator.receive_from(timeout=5)
    for element_id in ("system-status", "inventory", "camera-dock-1", "thresholds", "activity-log"):
        assert f'id="{element_id}"' in html
    assert html.count('hx-swap-oob="true"') == 4  # the four top-level partials; nested ones swap with them
    assert ">WAITING<" in html
    await communicator.disconnect()


async def test_a_frame_pushes_the_new_count_as_out_of_band_fragments(viewer, camera_with_key, real_images):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(viewer)
    await communicator.receive_from(timeout=5)  # snapshot

    event = await ingest(camera, real_images[0])
    html = await communicator.receive_from(timeout=10)
    assert '<article id="camera-dock-1" hx-swap-oob="true"' in html
    assert f'data-field="count" class="text-5xl font-bold tabular-nums">{event.smoothed_count}<' in html
    assert f">{event.status}<" in html
    assert f'id="event-{event.pk}"' in html and "row-new" in html  # the new log row slides in
    assert 'id="system-status" hx-swap-oob="true"' in html
    assert "thresholds-dock-1" not in html  # a frame never clobbers a manager's half-typed form
    await communicator.disconnect()


async def test_a_group_message_alone_is_enough(viewer, camera_with_key, real_images):
    # Another worker stored the frame; this one only hears the group message (ids, never images).
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(viewer)
    await communicator.receive_from(timeout=5)
    from dashboard import broadcasts
    original = broadcasts.stock_updated
    broadcasts.stock_updated = lambda **kwargs: None  # store without broadcasting
    try:
        event = await ingest(camera, real_images[1])
    finally:
        broadcasts.stock_updated = original
    assert await communicator.receive_nothing(timeout=0.3)
    await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera.pk,
                                                           "event_id": event.pk})
    html = await communicator.receive_from(timeout=5)
    assert f'data-field="count" class="text-5xl font-bold tabular-nums">{event.smoothed_count}<' in html
    await communicator.disconnect()


async def test_threshold_changes_push_the_settings_row_read_only_for_viewers(viewer, manager, camera_with_key):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    as_viewer, _ = await connect(viewer)
    as_manager, _ = await connect(manager)
    await as_viewer.receive_from(timeout=5)
    await as_manager.receive_from(timeout=5)
    await database_sync_to_async(stock_thresholds_update)(camera=camera, critical_level=4, target_capacity=40)
    viewer_html = await as_viewer.receive_from(timeout=5)
    manager_html = await as_manager.receive_from(timeout=5)
    assert 'id="thresholds-dock-1" hx-swap-oob="true"' in viewer_html
    assert 'data-field="target_capacity">40<' in viewer_html and "<form" not in viewer_html
    assert 'name="target_capacity" value="40"' in manager_html
    assert "/ 40" in viewer_html  # the card shows the new target too
    await as_viewer.disconnect()
    await as_manager.disconnect()


async def test_the_activity_filter_is_per_connection(viewer, camera_with_key, real_images):
    one, _ = await database_sync_to_async(camera_with_key)("dock-1")
    await database_sync_to_async(camera_with_key)("dock-2")
    communicator, _ = await connect(viewer, "/ws/dashboard/?camera=dock-2")
    snapshot = await communicator.receive_from(timeout=5)
    assert 'data-camera-filter="dock-2"' in snapshot
    await ingest(one, real_images[0])
    html = await communicator.receive_from(timeout=10)
    assert 'id="camera-dock-1"' in html and 'id="activity-log"' not in html  # filtered out
    await communicator.send_json_to({"camera": "dock-1"})
    assert await communicator.receive_nothing(timeout=0.5)  # the page drew the new view itself (HTTP)
    await ingest(one, real_images[1])
    html = await communicator.receive_from(timeout=10)
    assert 'id="activity-log"' in html and 'data-camera-filter="dock-1"' in html  # now this screen's camera
    await communicator.disconnect()


async def test_open_dashboards_are_counted_for_metrics_and_closed_ones_are_not(viewer, nobody, camera_with_key):
    from dashboard.metrics import WEBSOCKET_CLIENTS

    await database_sync_to_async(camera_with_key)("dock-1")
    before = WEBSOCKET_CLIENTS._value.get()
    first, _ = await connect(viewer)
    second, _ = await connect(viewer)
    refused, _ = await connect(nobody)  # closed with 4403: never a client
    await first.receive_from(timeout=5)
    await second.receive_from(timeout=5)
    assert WEBSOCKET_CLIENTS._value.get() == before + 2
    await first.disconnect()
    await refused.disconnect()
    assert WEBSOCKET_CLIENTS._value.get() == before + 1
    await second.disconnect()
    assert WEBSOCKET_CLIENTS._value.get() == before
