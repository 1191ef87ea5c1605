"""The Redis channel layer as settings configure it, against a real redis-server."""

from __future__ import annotations

import asyncio
import importlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels_redis.core import RedisChannelLayer

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _configured_layer(monkeypatch, url: str) -> RedisChannelLayer:
    import inventory_monitor.settings as project_settings

    monkeypatch.setenv("REDIS_URL", url)
    try:
        config = importlib.reload(project_settings).CHANNEL_LAYERS["default"]["CONFIG"]
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(project_settings)
    return RedisChannelLayer(**config)


def test_an_idle_screen_keeps_waiting_for_its_next_update(monkeypatch, redis_server):
    # A dashboard at night receives nothing for minutes. channels-redis waits for a message with
    # BZPOPMIN blocking 5 s; redis-py 8 gives every read a 5 s socket timeout by default, so the
    # wait failed with "Timeout reading from ..." and the socket closed with 1011 (seen in
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
            await layer.close_pools()

    # In a thread of its own: a browser test before this one may have left an event loop running here.
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, idle_then_message()).result()["camera_id"] == 1
