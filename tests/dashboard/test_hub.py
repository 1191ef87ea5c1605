"""A worker's screens get the "dashboard" group's messages through one listener (dashboard/hub.py):
one member of the group per worker, however many screens are open."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from dashboard.broadcasts import DASHBOARD_GROUP
from tests.dashboard.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)


async def test_one_group_member_per_worker_feeds_every_screen(viewer, camera_with_key):
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    paths = ["/ws/dashboard/", "/ws/dashboard/", "/ws/cameras/dock-1/"]
    screens = [(await connect(viewer, path))[0] for path in paths]
    for communicator in screens:
        await communicator.receive_from(timeout=5)  # snapshot
    assert len(get_channel_layer().groups[DASHBOARD_GROUP]) == 1
    await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera.pk,
                                                           "event_id": None})
    pushes = [await communicator.receive_from(timeout=5) for communicator in screens]
    assert all('id="thresholds-dock-1"' in push for push in pushes[:2])  # the dashboards' threshold row
    assert 'id="camera-summary"' in pushes[2]  # the camera page's live parts
    for communicator in screens:
        await communicator.disconnect()


async def test_an_update_that_arrives_while_the_snapshot_renders_comes_after_it(viewer, camera_with_key, monkeypatch):
    # The hub hands updates over while a new screen still renders its snapshot: they wait for it,
    # as they waited in the screen's own channel before (a push must not race the snapshot's grid).
    from dashboard import panels

    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    first = await connect(viewer)
    await first[0].receive_from(timeout=5)
    real = panels.snapshot_html

    def snapshot_after_an_update(viewer, *, grid):
        from asgiref.sync import async_to_sync

        async_to_sync(get_channel_layer().group_send)(
            DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera.pk, "event_id": None})
        return real(viewer, grid=grid)

    monkeypatch.setattr(panels, "snapshot_html", snapshot_after_an_update)
    second, _ = await connect(viewer)
    assert 'id="activity-log"' in await second.receive_from(timeout=5)  # the snapshot first (a push has no log)
    assert 'id="thresholds-dock-1"' in await second.receive_from(timeout=5)  # then the update
    await first[0].disconnect()
    await second.disconnect()
