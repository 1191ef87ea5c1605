"""Dashboard broadcasts from request threads, around the server's shutdown."""

from __future__ import annotations

import asyncio
import os
import threading

from asgiref.sync import SyncToAsync

from dashboard import broadcasts


def test_a_request_thread_still_running_after_the_server_loop_stopped_drops_its_broadcast(monkeypatch) -> None:
    # A request that outlived the shutdown drain: its server loop is gone. Sending through it (or a
    # loop of its own) used to block the thread, and with it the process's exit, forever.
    sends: list[dict] = []

    class Layer:
        async def group_send(self, group: str, message: dict) -> None:
            sends.append(message)

    monkeypatch.setattr(broadcasts, "get_channel_layer", lambda: Layer())
    stopped = asyncio.new_event_loop()  # never running again
    returned = threading.Event()

    def request_thread() -> None:
        # What asgiref records in a thread that Daphne's loop runs a sync view in.
        SyncToAsync.threadlocal.main_event_loop = stopped
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        broadcasts.stock_updated(camera_id=1, event_id=2)
        returned.set()

    thread = threading.Thread(target=request_thread, daemon=True)
    thread.start()
    assert returned.wait(5)
    assert sends == []
    stopped.close()


async def test_shutdown_waits_for_broadcasts_handed_to_the_server_loop(monkeypatch) -> None:
    release = asyncio.Event()
    sends: list[dict] = []

    class SlowLayer:
        async def group_send(self, group: str, message: dict) -> None:
            await release.wait()
            sends.append(message)

    monkeypatch.setattr(broadcasts, "get_channel_layer", lambda: SlowLayer())
    monkeypatch.setattr(broadcasts, "_consumer_loop", asyncio.get_running_loop())
    await asyncio.to_thread(broadcasts.stock_updated, camera_id=1, event_id=2)  # as a request thread would
    assert await broadcasts.flush_pending(timeout=0.05) == 1  # still queued
    release.set()
    assert await broadcasts.flush_pending(timeout=5) == 0
    assert sends == [{"type": "stock.updated", "camera_id": 1, "event_id": 2}]


async def test_with_the_in_memory_layer_a_frame_nobody_watches_is_not_sent(monkeypatch) -> None:
    # One worker: its screens listen through its hub. With none open (also after the last one left,
    # when the hub's channel is still in the group) a frame's update is not handed to the loop.
    from channels.layers import InMemoryChannelLayer

    from dashboard import hub

    layer = InMemoryChannelLayer()
    sends: list[dict] = []
    original = layer.group_send

    async def group_send(group: str, message: dict) -> None:
        sends.append(message)
        await original(group, message)

    class Screen:
        def __init__(self) -> None:
            self.got: list[dict] = []

        def deliver(self, message: dict) -> None:
            self.got.append(message)

    monkeypatch.setattr(layer, "group_send", group_send)
    monkeypatch.setattr(broadcasts, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(hub, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(broadcasts, "_consumer_loop", asyncio.get_running_loop())
    await asyncio.to_thread(broadcasts.stock_updated, camera_id=1, event_id=2)
    assert await broadcasts.flush_pending(timeout=5) == 0
    assert sends == []

    screen, listener = Screen(), hub.hub(broadcasts.DASHBOARD_GROUP)
    try:
        await listener.join(screen)
        await asyncio.to_thread(broadcasts.stock_updated, camera_id=1, event_id=3)
        assert await broadcasts.flush_pending(timeout=5) == 0
        for _ in range(100):
            if screen.got:
                break
            await asyncio.sleep(0.01)
        assert [message["event_id"] for message in screen.got] == [3]

        listener.leave(screen)
        assert layer.groups.get(broadcasts.DASHBOARD_GROUP)  # the hub's channel is still a member
        await asyncio.to_thread(broadcasts.stock_updated, camera_id=1, event_id=4)
        assert await broadcasts.flush_pending(timeout=5) == 0
        assert [message["event_id"] for message in sends] == [3]
    finally:
        listener.stop()
        hub._hubs.pop(broadcasts.DASHBOARD_GROUP, None)
