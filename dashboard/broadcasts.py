"""Tell every open dashboard that a camera's stock changed: subscribed to detection's "stock changed"
hook (detection/hooks.py, announced after each commit) in DashboardConfig.ready."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import Future
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from dashboard import fragments, hub, presence

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


def _server_loop_stopped() -> bool:
    """This is a request thread of a server whose event loop has stopped: the worker is exiting."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    recorded_here = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid()
    return loop is not None and recorded_here and not loop.is_running()


# Sends handed to the server loop and not finished yet; the graceful shutdown waits for them.
_pending: set[Future] = set()
_pending_lock = threading.Lock()


def _sent(future: Future) -> None:
    with _pending_lock:
        _pending.discard(future)
    if not future.cancelled() and future.exception() is not None:
        logger.error("could not broadcast stock update", exc_info=future.exception())


async def flush_pending(timeout: float) -> int:
    """Wait (on the server loop) up to `timeout` seconds for queued sends; returns how many are unsent."""
    with _pending_lock:
        pending = [asyncio.wrap_future(future) for future in _pending]
    if not pending:
        return 0
    if timeout <= 0:
        return sum(not future.done() for future in pending)
    _, unsent = await asyncio.wait(pending, timeout=timeout)
    return len(unsent)


def stock_updated(*, camera_id: int, event_id: int | None) -> None:
    """Send a small event (ids) to every open screen; a stored frame's fragments go with it while
    a dashboard is open anywhere (dashboard/fragments.py, rendered once for every worker's screens).

    Inside the server, the send is handed to its event loop and not waited for: waiting held the
    camera's request thread until the busy loop got round to it (half of the persist stage at 8
    cameras). A frame with screens to show it goes to this worker's fragment thread first, which
    renders and then hands the send to the loop: the camera's answer waits for neither. Elsewhere
    (management commands, tests without a loop) it is sent synchronously, ids only.
    """
    layer = get_channel_layer()
    if layer is None or _nobody_listens(layer):
        return
    loop = _server_event_loop()
    if loop is None and _server_loop_stopped():
        # Past the shutdown deadline: waiting for the stopped loop would hold this thread (and the
        # process) forever. Open dashboards were closed with it and take a fresh snapshot on reconnect.
        logger.warning("server stopped: dashboard update for camera %s not sent", camera_id)
        return
    try:
        if loop is not None and event_id is not None and presence.screens_open():
            _track(renderer.submit(camera_id, event_id, loop))
        elif loop is not None:
            _send_on_loop(camera_id, event_id, None, loop)
        else:
            async_to_sync(layer.group_send)(DASHBOARD_GROUP, _message(camera_id, event_id, None))
    except Exception:  # a dead Redis must not turn a stored frame into a 500 for the camera
        logger.exception("could not broadcast stock update for camera %s", camera_id)


def _nobody_listens(layer) -> bool:
    """With the in-memory layer (one worker) every screen listens through this worker's hub: with
    none open, nobody is told. The hand-off to the loop and the send were a tenth of a worker's
    GIL-held time per frame in a py-spy profile (one worker, 20 cameras, no screen open). A screen
    that opens later takes its snapshot from the database."""
    return isinstance(layer, InMemoryChannelLayer) and not hub.has_screens(DASHBOARD_GROUP)


def _message(camera_id: int, event_id: int | None, fragments: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "stock.updated", "camera_id": camera_id, "event_id": event_id}
    if fragments is not None:
        message["fragments"] = fragments
    return message


def _send_on_loop(camera_id: int, event_id: int | None, fragments: dict[str, Any] | None,
                  loop: asyncio.AbstractEventLoop) -> Future:
    """Hand the group message to the server loop without waiting for it (tracked for the shutdown)."""
    layer = get_channel_layer()
    future = asyncio.run_coroutine_threadsafe(
        layer.group_send(DASHBOARD_GROUP, _message(camera_id, event_id, fragments)), loop)
    return _track(future)


def _track(future: Future) -> Future:
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_sent)
    return future


renderer = fragments.Renderer(_send_on_loop)


def on_stock_changed(*, camera_id: int, event_id: int | None) -> None:
    """The hook's receiver (looks stock_updated up at each call, so tests can replace it)."""
    stock_updated(camera_id=camera_id, event_id=event_id)
