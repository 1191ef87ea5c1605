"""Is a dashboard open anywhere? Frames are rendered for screens (dashboard/fragments.py) only then.

- This worker's open dashboard sockets are counted here (the consumer's connect and disconnect).
- With the in-memory channel layer there is one worker, and no fragments (screens_open()).
- With a shared layer (Redis), a worker with open dashboards keeps a key in the cache (Redis there)
  fresh: set every PRESENCE_REFRESH_S with a PRESENCE_TTL_S expiry, so a worker that dies stops
  counting by itself. Other workers read it at most once per PRESENCE_READ_S (one GET a second, not
  one per frame).

Wrong for a moment costs no update: a frame sent without fragments is rendered by the screens as
before (a screen opened a second ago), and fragments nobody reads are only wasted work (the key
outlives the last screen by at most PRESENCE_TTL_S).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)

PRESENCE_KEY = "dashboard:screens-open"
PRESENCE_TTL_S = 10
PRESENCE_REFRESH_S = 3.0
PRESENCE_READ_S = 1.0

_lock = threading.Lock()
_local = 0  # this worker's open dashboard sockets
_refresher: asyncio.Task | None = None
_read_at = -float("inf")  # monotonic time of the last read of the shared key
_read_value = False


def _shared_layer() -> bool:
    layer = get_channel_layer()
    return layer is not None and not isinstance(layer, InMemoryChannelLayer)


def screens_open() -> bool:
    """A dashboard is open on some worker, as far as we know; always False with the in-memory layer.

    The in-memory layer means one worker: its screens already share one render per push between them
    (panels.shared_renders), which is cheaper than a render per frame when several frames fall into
    one push (in-process, 100 cameras at 50 frames/s, 1 dashboard: 9.6 ms of CPU per frame with
    renders per push, 12.1 ms with fragments per frame). Fragments pay where several workers would
    each render the same push."""
    global _read_at, _read_value
    if not _shared_layer():
        return False
    if _local > 0:
        return True
    now = time.monotonic()
    if now - _read_at >= PRESENCE_READ_S:
        try:
            _read_value = cache.get(PRESENCE_KEY) is not None
        except Exception:  # no cache, no fragments: the screens render as before
            logger.warning("could not read dashboard presence", exc_info=True)
            _read_value = False
        _read_at = now
    return _read_value


def opened() -> None:
    """A dashboard socket of this worker joined the group (on the server loop)."""
    global _local, _refresher
    with _lock:
        _local += 1
    if _shared_layer() and (_refresher is None or _refresher.done()):
        _refresher = asyncio.get_running_loop().create_task(_refresh(), name="dashboard-presence")


def closed() -> None:
    global _local
    with _lock:
        _local = max(0, _local - 1)


async def _refresh() -> None:
    """While this worker has an open dashboard, keep the shared key alive."""
    store = sync_to_async(cache.set, thread_sensitive=False)
    while _local > 0:
        try:
            await store(PRESENCE_KEY, 1, PRESENCE_TTL_S)
        except Exception:
            logger.warning("could not refresh dashboard presence", exc_info=True)
        await asyncio.sleep(PRESENCE_REFRESH_S)


def reset() -> None:
    """For tests: forget what was counted and read."""
    global _local, _read_at, _read_value, _refresher
    with _lock:
        _local, _read_at, _read_value = 0, -float("inf"), False
    if _refresher is not None:
        _refresher.cancel()
        _refresher = None
