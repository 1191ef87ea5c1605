"""The Redis channel layer as settings configure it, against a real redis-server."""

from __future__ import annotations

import asyncio
import importlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.utils.module_loading import import_string

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _configured_layer(monkeypatch, url: str):
    """A new layer as a worker builds it from settings (each call: another worker, its own connections)."""
    import inventory_monitor.settings as project_settings

    monkeypatch.setenv("REDIS_URL", url)
    try:
        layer = importlib.reload(project_settings).CHANNEL_LAYERS["default"]
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(project_settings)
    return import_string(layer["BACKEND"])(**layer["CONFIG"])


def _run(coroutine):
    # In a thread of its own: a browser test before this one may have left an event loop running here.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_an_idle_screen_keeps_waiting_for_its_next_update(monkeypatch, redis_server):
    # A dashboard at night receives nothing for minutes. channels-redis' core layer waited for a
    # message with BZPOPMIN blocking 5 s; redis-py 8 gives every read a 5 s socket timeout by default,
    # so the wait failed with "Timeout reading from ..." and the socket closed with 1011 (seen in
    # benchmarks.watchers' worker logs). The layer must just keep waiting, then deliver.
    layer = _configured_layer(monkeypatch, redis_server.url)

    async def idle_then_message() -> dict:
        channel = await layer.new_channel()
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(7)  # longer than both 5 s timeouts
        assert not receiving.done(), receiving.exception()
        await layer.send(channel, {"type": "stock.updated", "camera_id": 1, "event_id": 2})
        try:
            return await asyncio.wait_for(receiving, 5)
        finally:
            await layer.flush()

    assert _run(idle_then_message())["camera_id"] == 1


def test_a_group_message_is_one_publish_however_many_screens_listen(monkeypatch, redis_server):
    # Issue 18: each frame's "stock.updated" goes to every open screen. The core layer queued one copy
    # per screen in Redis and each screen popped its own, so the workers' cost grew with screens; now
    # Redis gets one PUBLISH and each worker hands the message to its own screens.
    workers = [_configured_layer(monkeypatch, redis_server.url) for _ in range(2)]
    stats = redis.Redis.from_url(redis_server.url)

    async def five_screens_on_two_workers() -> list[dict]:
        screens = []
        for worker, count in zip(workers, (3, 2)):
            for _ in range(count):
                channel = await worker.new_channel()
                await worker.group_add("dashboard", channel)
                screens.append((worker, channel))
        stats.config_resetstat()
        await workers[0].group_send("dashboard", {"type": "stock.updated", "camera_id": 1, "event_id": 2})
        try:
            received = [await asyncio.wait_for(worker.receive(channel), 5) for worker, channel in screens]
            for worker, channel in screens:  # nothing more: each screen got it once
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(worker.receive(channel), 0.2)
            return received
        finally:
            for worker in workers:
                await worker.flush()

    received = _run(five_screens_on_two_workers())
    assert [message["event_id"] for message in received] == [2] * 5
    commands = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.info("commandstats").items()}
    assert commands.get("publish") == 1
    assert not {"eval", "evalsha", "zadd", "bzpopmin"} & commands.keys()  # the core layer's per-screen copies


def test_screens_hear_again_after_redis_restarts(monkeypatch, redis_server):
    # Open screens must not go silent for good, with nothing to tell them, after Redis restarts empty.
    # The core layer kept each group's members in Redis, so a restart lost them all (this test fails
    # there); with pub/sub each worker keeps its own members and subscribes again by itself.
    worker, sender = _configured_layer(monkeypatch, redis_server.url), _configured_layer(monkeypatch, redis_server.url)

    async def across_a_restart() -> dict:
        channel = await worker.new_channel()
        await worker.group_add("dashboard", channel)
        try:
            await sender.group_send("dashboard", {"type": "stock.updated", "camera_id": 1, "event_id": 1})
            assert (await asyncio.wait_for(worker.receive(channel), 5))["event_id"] == 1
            await asyncio.to_thread(redis_server.restart)
            for attempt in range(2, 60):  # what is published before it subscribed again is lost
                await sender.group_send("dashboard", {"type": "stock.updated", "camera_id": 1, "event_id": attempt})
                try:
                    return await asyncio.wait_for(worker.receive(channel), 0.5)
                except asyncio.TimeoutError:
                    continue
            raise AssertionError("no message after the restart")
        finally:
            await worker.flush()
            await sender.flush()

    assert _run(across_a_restart())["type"] == "stock.updated"


def test_a_message_sent_outside_the_server_reaches_the_screens(monkeypatch, redis_server):
    # Logout (dashboard/socket_auth.py) and broadcasts from code without the server's loop (management
    # commands) send with async_to_sync: a loop of their own, whose connection must not outlive it.
    from asgiref.sync import async_to_sync

    worker, sender = _configured_layer(monkeypatch, redis_server.url), _configured_layer(monkeypatch, redis_server.url)
    stats = redis.Redis.from_url(redis_server.url)

    def clients() -> int:
        return len(stats.client_list())

    async def logged_out_elsewhere() -> tuple[dict, int, int]:
        channel = await worker.new_channel()
        await worker.group_add("session.abc", channel)
        try:
            before = clients()
            await asyncio.to_thread(async_to_sync(sender.group_send), "session.abc", {"type": "session.ended"})
            message = await asyncio.wait_for(worker.receive(channel), 5)
            for _ in range(20):  # the server may see the close a moment later
                if clients() == before:
                    break
                await asyncio.sleep(0.1)
            return message, before, clients()
        finally:
            await worker.flush()

    message, before, after = _run(logged_out_elsewhere())
    assert message == {"type": "session.ended"}
    assert after == before  # the sender's connection closed with its loop
