"""Tell every open dashboard that a camera's stock changed (called after the ingest commit)."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Future

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


_consumer_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the dashboard consumer: the loop its sockets live on, for sends from other threads
    (the offline watch) that are not request threads."""
    global _consumer_loop
    _consumer_loop = loop


def _server_event_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's loop: asgiref records it in request threads; the consumer records it too."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        loop = _consumer_loop
    return loop if loop is not None and loop.is_running() else None


def _log_failure(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("could not broadcast stock update", exc_info=future.exception())


def stock_updated(*, camera_id: int, event_id: int | None) -> None:
    """Send a small event (ids only); consumers render the partials themselves.

    Inside the server, the send is handed to its event loop and not waited for: waiting held the
    camera's request thread until the busy loop got round to it (half of the persist stage at 8
    cameras). Elsewhere (management commands, tests without a loop) it is sent synchronously.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "stock.updated", "camera_id": camera_id, "event_id": event_id}
    loop = _server_event_loop()
    try:
        if loop is not None:
            asyncio.run_coroutine_threadsafe(layer.group_send(DASHBOARD_GROUP, message), loop).add_done_callback(
                _log_failure
            )
        else:
            async_to_sync(layer.group_send)(DASHBOARD_GROUP, message)
    except Exception:  # a dead Redis must not turn a stored frame into a 500 for the camera
        logger.exception("could not broadcast stock update for camera %s", camera_id)
