"""Django's ASGI handler with the middleware chain and the view run in one thread hop, on request
threads that are kept from one request to the next.

Every view here is synchronous (DRF, the admin, the HTMX pages; the only async code is the
Channels consumers, which do not pass through this handler). Two costs of Django's stock
ASGIHandler go away:

- **Hops.** It builds an async middleware chain, so each MiddlewareMixin middleware hands its
  ``process_request`` and ``process_response`` to the request's thread and back, and
  ``process_view`` and the view do too: about 15 round trips between the event loop and the
  request thread per request. This handler builds the chain as WSGI does (all sync) and runs
  ``get_response`` once in the request's thread.
- **A new thread and a new database connection per request.** Django runs each request in its own
  ``ThreadSensitiveContext``, which creates a one-thread executor for that request and drops it at
  the end: a thread start, a fresh database connection (SQLite: connect, two PRAGMAs, Django's ~40
  SQL functions registered; PostgreSQL: a TCP and auth handshake) and its close, for every frame.
  Here each request still gets a thread of its own for all its thread-sensitive work (the
  ``request_started`` receivers, the view, ``response.close()``, exactly as Django arranges it), but
  that thread is a *lane* taken from a small free list and given back afterwards, so with
  ``DB_CONN_MAX_AGE`` > 0 its connection serves the next request too. Django's own
  ``close_old_connections`` (on ``request_started`` / ``request_finished``, in the lane) still
  enforces the maximum age and drops a broken connection (``conn_health_checks``).

There are as many lanes as requests ever ran at once; at most ``REQUEST_THREADS_KEPT`` idle lanes
are kept (each may hold a database connection), the others close their connections and end. A kept
lane that has been idle for ``REQUEST_THREAD_IDLE_S`` ends too (``retire_idle``, run by the worker's
memory loop, inventory_monitor/memory.py): the extra lanes a burst of frames opened give back their
connection (its page cache) and their thread, instead of keeping them until the worker restarts.

Measured with ``python -m benchmarks.ingest_overhead`` (README "Performance").
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections


def _close_connections() -> None:
    connections.close_all()


class RequestLanes:
    """One-thread executors kept between requests; a lane runs one request at a time."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._free: list[ThreadPoolExecutor] = []  # idle lanes, the most recently used last
        self._idle_since: dict[ThreadPoolExecutor, float] = {}  # monotonic time each was given back
        self._lock = threading.Lock()
        self.started = 0  # lanes created so far (tests, diagnostics)

    def take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._free:
                lane = self._free.pop()  # the most recently used: its connection is the freshest
                del self._idle_since[lane]
                return lane
            self.started += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, lane: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._free) < self.keep:
                self._free.append(lane)
                self._idle_since[lane] = time.monotonic()
                return
        _end(lane)

    def retire_idle(self, idle_s: float) -> int:
        """End the lanes idle for ``idle_s`` seconds or more, each closing its database connection
        first; returns how many ended. The least recently used are the first idle ones, so a lane
        in steady use is never among them."""
        cutoff = time.monotonic() - idle_s
        with self._lock:
            retired = [lane for lane in self._free if self._idle_since[lane] <= cutoff]
            self._free = [lane for lane in self._free if self._idle_since[lane] > cutoff]
            for lane in retired:
                del self._idle_since[lane]
        for lane in retired:
            _end(lane)
        return len(retired)

    def idle(self) -> int:
        with self._lock:
            return len(self._free)

    def close(self) -> None:
        """End the idle lanes, each closing its database connection first."""
        with self._lock:
            lanes, self._free = self._free, []
            self._idle_since.clear()
        for lane in lanes:
            _end(lane, wait=True)


def _end(lane: ThreadPoolExecutor, *, wait: bool = False) -> None:
    """The lane closes its database connection (after anything still queued on it) and ends
    (``wait``: this returns once it has)."""
    lane.submit(_close_connections)
    lane.shutdown(wait=wait)


class SyncViewsASGIHandler(ASGIHandler):
    """ASGIHandler for a site whose views are all sync: one hop to a kept request thread per request."""

    def __init__(self) -> None:
        super().__init__()
        self.lanes = RequestLanes(keep=settings.REQUEST_THREADS_KEPT)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        lane = self.lanes.take()
        try:
            # What Django's __call__ does, with the lane as the context's thread (asgiref leaves a
            # given executor running when the context ends).
            async with ThreadSensitiveContext(executor=lane):
                await self.handle(scope, receive, send)
        finally:
            self.lanes.give_back(lane)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncViewsASGIHandler:
    """django.core.asgi.get_asgi_application(), with the handler above."""
    django.setup(set_prefix=False)
    return SyncViewsASGIHandler()
