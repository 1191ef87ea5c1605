"""Each screen's pushes are throttled and merged (dashboard/pushes.py), and its sign-in is checked
again at most every SOCKET_AUTH_RECHECK_S: what issue 18 needs for many open screens, without
losing an update or delaying a lone one."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from dashboard import socket_auth
from dashboard.broadcasts import DASHBOARD_GROUP
from dashboard.pushes import Updates
from detection.ingest.services import frame_analyze, frame_record
from detection.stock.services import stock_thresholds_update
from tests.dashboard.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)


async def group_event(camera_id: int, event_id: int | None) -> None:
    await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera_id,
                                                           "event_id": event_id})


async def until_quiet(communicator: WebsocketCommunicator, quiet: float) -> list[str]:
    """Every message until none came for `quiet` seconds."""
    messages = []
    while not await communicator.receive_nothing(timeout=quiet):
        messages.append(await communicator.receive_from(timeout=1))
    return messages


def card(html: str, slug: str) -> str:
    return html.split(f'id="camera-{slug}"', 1)[1].split("</article>", 1)[0]


@pytest.fixture
def analysed(real_images):
    """The shipped model's results on real frames, computed up front so that storing them (the part
    that broadcasts) takes milliseconds and a burst fits in one interval."""
    return [frame_analyze(data=path.read_bytes()) for path in real_images[:4]]


def test_it_keeps_the_newest_frame_per_camera_and_threshold_changes_apart():
    # A frame after a threshold change must not hide it: the threshold row is only sent for a change.
    updates = Updates()
    for camera_id, event_id in [(1, 10), (2, 11), (1, None), (1, 12), (1, 9)]:
        updates.add(camera_id, event_id)
    assert updates.frames == {1: 12, 2: 11} and updates.changed == {1}
    assert updates.events == {9, 10, 11, 12} and updates.newest == 12 and updates.cameras == [1, 2]


async def test_it_merges_a_burst_into_fewer_messages_and_loses_no_camera(viewer, camera_with_key, analysed,
                                                                         settings):
    settings.DASHBOARD_PUSH_INTERVAL_S = 1.0  # long enough that the whole burst lands in one interval
    cameras = [(await database_sync_to_async(camera_with_key)(slug))[0] for slug in ("dock-1", "dock-2", "dock-3")]
    communicator, _ = await connect(viewer)
    await communicator.receive_from(timeout=5)  # snapshot

    @database_sync_to_async
    def burst():
        # Each frame its own transaction and broadcast, as cameras posting at once would.
        return [frame_record(camera=camera, result=result)
                for result in analysed[:2] for camera in cameras]

    events = await burst()
    messages = await until_quiet(communicator, quiet=1.5)
    assert 1 <= len(messages) < len(events)
    for camera, newest in zip(cameras, events[len(cameras):]):
        last = [html for html in messages if f'id="camera-{camera.slug}"' in html][-1]  # what the DOM shows
        assert f'data-field="count" class="text-5xl font-bold tabular-nums">{newest.smoothed_count}<' in card(
            last, camera.slug)
    rows = [html for html in messages if 'id="activity-new"' in html]  # the log's new rows of each push
    for event in events:  # every new row slid in (highlighted) exactly once, none skipped by the merge
        assert sum(bool(re.search(rf'id="event-{event.pk}"[^>]*class="row-new"', html)) for html in rows) == 1
    await communicator.disconnect()


async def test_it_pushes_a_lone_update_at_once_and_holds_the_next_for_the_interval(viewer, camera_with_key,
                                                                                   settings):
    # Throttling must cost a lone frame no latency: only updates that follow a push wait.
    settings.DASHBOARD_PUSH_INTERVAL_S = 5
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(viewer)
    await communicator.receive_from(timeout=5)
    await group_event(camera.pk, None)
    assert 'id="camera-dock-1"' in await communicator.receive_from(timeout=2)
    await group_event(camera.pk, None)
    assert await communicator.receive_nothing(timeout=1)  # merged into the push at the interval's end
    await communicator.disconnect()


@pytest.mark.parametrize("path, event_row", [("/ws/dashboard/", 'id="event-{}"'),
                                             ("/ws/cameras/dock-1/", 'id="camera-event-{}"')])
async def test_it_keeps_a_threshold_change_that_a_frame_follows(viewer, camera_with_key, analysed, settings,
                                                               path, event_row):
    settings.DASHBOARD_PUSH_INTERVAL_S = 1.0
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(viewer, path)
    await communicator.receive_from(timeout=5)
    await database_sync_to_async(frame_record)(camera=camera, result=analysed[0])
    await communicator.receive_from(timeout=5)  # pushed at once: the next updates wait for the interval

    @database_sync_to_async
    def change_then_frame():
        stock_thresholds_update(camera=camera, critical_level=4, target_capacity=40)
        return frame_record(camera=camera, result=analysed[1])

    event = await change_then_frame()
    messages = await until_quiet(communicator, quiet=1.5)
    assert len(messages) == 1
    assert 'id="thresholds-dock-1" hx-swap-oob="true"' in messages[0]  # the change was not lost to the frame
    assert 'data-field="target_capacity">40<' in messages[0]
    assert event_row.format(event.pk) in messages[0]
    await communicator.disconnect()


@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/cameras/dock-1/", "/ws/cameras/dock-1/trends/"])
async def test_it_cancels_a_pending_push_when_the_page_goes(viewer, camera_with_key, settings, caplog, path):
    # A page closed while a push waits for its interval: nothing may send on the gone socket, fail
    # later in the log, or keep a task alive for every screen ever closed.
    settings.DASHBOARD_PUSH_INTERVAL_S = 5
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(viewer, path)
    if "trends" not in path:
        await communicator.receive_from(timeout=5)  # snapshot
    await group_event(camera.pk, 1)
    await communicator.receive_from(timeout=2)
    await group_event(camera.pk, 2)

    def pending_pushes() -> list[asyncio.Task]:
        return [task for task in asyncio.all_tasks() if task.get_name().startswith("screen-push") and not task.done()]

    assert await communicator.receive_nothing(timeout=0.2) and len(pending_pushes()) == 1
    with caplog.at_level(logging.WARNING):
        await communicator.disconnect()  # raises what the consumer raised
        await asyncio.sleep(0)
    assert pending_pushes() == []
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_it_checks_the_sign_in_again_only_after_the_recheck_window(viewer, camera_with_key, settings,
                                                                        monkeypatch):
    # The check (session, user and permission queries) was half of what every screen spent per frame;
    # by default it runs at most once a second, so a lost role ends the updates within that second.
    settings.SOCKET_AUTH_RECHECK_S = 1.0  # the default
    settings.DASHBOARD_PUSH_INTERVAL_S = 0.05  # the default
    checks = []
    original = socket_auth.close_code
    monkeypatch.setattr(socket_auth, "close_code", lambda scope: checks.append(scope) or original(scope))
    camera, _ = await database_sync_to_async(camera_with_key)("dock-1")
    communicator, _ = await connect(viewer)
    await communicator.receive_from(timeout=5)
    await group_event(camera.pk, None)
    assert 'id="camera-dock-1"' in await communicator.receive_from(timeout=2)
    assert len(checks) == 1  # the first push checks
    await database_sync_to_async(viewer.groups.clear)()
    await asyncio.sleep(0.1)  # past the push interval, within the recheck window
    await group_event(camera.pk, None)
    assert 'id="camera-dock-1"' in await communicator.receive_from(timeout=2)
    assert len(checks) == 1  # no queries: the check of 0.1 s ago still holds
    await asyncio.sleep(1.0)
    await group_event(camera.pk, None)
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
    assert len(checks) == 2
    await communicator.disconnect()
