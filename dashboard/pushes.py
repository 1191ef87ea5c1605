"""Each open screen's live pushes, throttled and merged (issue 18: scale with people watching).

Every stored frame sends one "stock.updated" {camera_id, event_id} to every open screen. Rendering,
re-checking the sign-in and sending for each one cost every screen about 3 ms of CPU per frame: at
100 cameras x 1 frame/s and 15 screens, more than the box has. So a screen pushes at most once per
DASHBOARD_PUSH_INTERVAL_S (leading-edge throttle):

- an update after a quiet period (no push in the last interval) is pushed at once: a lone frame
  waits for nothing;
- updates within the interval are merged into `Updates` (per camera the newest event id; which
  cameras' thresholds or zones changed, kept apart so a frame never hides a threshold change) and
  one flush, when the interval since the last push ends, renders them all in one trip to a worker
  thread and sends one message;
- updates that arrive while a flush renders wait for the next flush: nothing is lost;
- before a flush the sign-in is checked again, in the same trip, if the last successful check is
  older than SOCKET_AUTH_RECHECK_S (dashboard/socket_auth.py).

The ORM is only touched in the worker thread (`render_push`); the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from dashboard import hub, socket_auth

logger = logging.getLogger(__name__)

INTERNAL_ERROR = 1011  # the page reconnects and takes a fresh snapshot


@dataclass
class Updates:
    """What a screen has not been sent yet."""

    frames: dict[int, int] = field(default_factory=dict)  # camera_id -> its newest event id
    changed: set[int] = field(default_factory=set)  # cameras whose thresholds or zones changed
    events: set[int] = field(default_factory=set)  # every frame's event id (the new activity rows)
    # A frame's fragments, rendered where it was stored (dashboard/fragments.py): per camera the card
    # showing the newest event, per event its row, the newest status and its camera links' digest.
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    status: dict[str, Any] | None = None
    log_cameras: str = ""
    bare: bool = False  # a frame came without fragments: the push is rendered here

    @classmethod
    def one(cls, camera_id: int, event_id: int | None, fragments: dict[str, Any] | None = None) -> Updates:
        updates = cls()
        updates.add(camera_id, event_id, fragments)
        return updates

    def add(self, camera_id: int, event_id: int | None, fragments: dict[str, Any] | None = None) -> None:
        """A "stock.updated" event: a stored frame (event_id) or a threshold/zone change (None)."""
        if event_id is None:
            self.changed.add(camera_id)
            return
        self.frames[camera_id] = max(event_id, self.frames.get(camera_id, event_id))
        self.events.add(event_id)
        if fragments is None:
            self.bare = True
            return
        card = fragments["card"]
        if camera_id not in self.cards or card["event"] >= self.cards[camera_id]["event"]:
            self.cards[camera_id] = card
        self.rows[event_id] = fragments["row"]
        status = fragments["status"]
        if self.status is None or status["at"] >= self.status["at"]:
            self.status, self.log_cameras = status, fragments["cameras"]

    def __bool__(self) -> bool:
        return bool(self.frames or self.changed)

    @property
    def cameras(self) -> list[int]:
        return sorted(self.frames.keys() | self.changed)

    @property
    def newest(self) -> int | None:
        """The newest frame's event id (event ids only grow)."""
        return max(self.frames.values(), default=None)


def _tick(now: float, interval: float) -> float:
    """When a push was taken, rounded up to a tenth of the interval.

    The interval runs from when a push is taken, not from when its render ends, and in ticks every
    screen shares: all screens hear a frame at the same moment, so they take their pushes at the
    same ticks, hold the same updates, and those rendered after the first (one worker thread renders
    them in turn) reuse its renders (panels.shared_renders) instead of missing them because a frame
    fell between their deadlines, a few microseconds apart.
    """
    step = interval / 10
    return math.ceil(now / step) * step if step > 0 else now


class CoalescedPushes:
    """Mixin for an AsyncWebsocketConsumer in the dashboard group (through the worker's hub,
    dashboard/hub.py): handles "stock.updated".

    Subclasses say which cameras they show (`wants`) and render a batch (`render_push`, synchronous,
    in a worker thread unless `renders_in_thread` is False, i.e. it touches no database).
    """

    renders_in_thread = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pending = Updates()
        self._flusher: asyncio.Task | None = None
        self._last_push = -math.inf  # monotonic time the last push was taken from the pending updates
        self._signed_in_at = -math.inf  # monotonic time of the last check that passed
        self._pushes_stopped = False
        self._pushes_started = False  # updates that arrive before the first message wait for it

    def wants(self, camera_id: int) -> bool:
        return True

    def render_push(self, updates: Updates) -> str:
        raise NotImplementedError

    def push_on_loop(self, updates: Updates) -> str | None:
        """The push built on the event loop, without the database (from the frames' fragments), or
        None: render_push builds it in a worker thread."""
        return None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # however the consumer ends, no flush outlives it
            self._stop_pushes()

    async def dispatch(self, message: dict) -> None:
        # Channels makes a trip to a worker thread before every handler to close stale database
        # connections: per screen and per frame, the very cost merging avoids. This handler touches
        # no database (the flush's own trip closes them, database_sync_to_async does), so it is spared.
        if message.get("type") == "stock.updated":
            await self.stock_updated(message)
        else:
            await super().dispatch(message)

    async def stock_updated(self, event: dict) -> None:
        """A "stock.updated" sent to this screen's own channel (the group's come through deliver)."""
        self.deliver(event)

    def deliver(self, event: dict) -> None:
        """A frame was stored or thresholds changed (detection's "stock changed" hook, after commit):
        handed over by the worker's hub (dashboard/hub.py), on the event loop. Only noted here."""
        if event.get("type") != "stock.updated" or self._pushes_stopped or not self.wants(event["camera_id"]):
            return
        self._pending.add(event["camera_id"], event.get("event_id"), event.get("fragments"))
        if self._flusher is None and self._pushes_started:  # else the running flush (or the next one) takes it
            self._flusher = asyncio.create_task(self._flush_loop(), name=f"screen-push {self.channel_name}")

    async def join_updates(self, group: str) -> None:
        """Get the group's updates through this worker's hub; they are pushed after start_pushes()."""
        await hub.hub(group).join(self)

    def leave_updates(self, group: str) -> None:
        hub.hub(group).leave(self)

    def start_pushes(self) -> None:
        """After the screen's first message (its snapshot): what arrived meanwhile is pushed now."""
        self._pushes_started = True
        if self._pending and self._flusher is None and not self._pushes_stopped:
            self._flusher = asyncio.create_task(self._flush_loop(), name=f"screen-push {self.channel_name}")

    async def _flush_loop(self) -> None:
        try:
            while self._pending and not self._pushes_stopped:
                interval = settings.DASHBOARD_PUSH_INTERVAL_S
                if (wait := self._last_push + interval - monotonic()) > 0:
                    await asyncio.sleep(wait)
                    if self._pushes_stopped:
                        return
                updates, self._pending = self._pending, Updates()
                self._last_push = _tick(monotonic(), interval)
                await self._push(updates)
        finally:
            self._flusher = None

    async def _push(self, updates: Updates) -> None:
        started = monotonic()
        recheck = started - self._signed_in_at >= settings.SOCKET_AUTH_RECHECK_S
        try:
            if not recheck and (text := self.push_on_loop(updates)) is not None:
                code = None
            elif recheck or self.renders_in_thread:
                code, text = await self._check_and_render(updates, recheck)
            else:
                code, text = None, self.render_push(updates)
        except Exception:
            logger.exception("live update failed; closing the socket so the page takes a fresh snapshot")
            await self.close(code=INTERNAL_ERROR)
            return
        if code is not None:
            await self.close(code=code)  # signed out (or lost the role) since connecting: no more updates
            return
        if recheck:
            self._signed_in_at = started
        if text:
            await self.send(text_data=text)

    @database_sync_to_async
    def _check_and_render(self, updates: Updates, recheck: bool) -> tuple[int | None, str]:
        if recheck and (code := socket_auth.close_code(self.scope)) is not None:
            return code, ""
        return None, self.render_push(updates)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self._stop_pushes()
        await super().close(code=code, reason=reason)

    async def websocket_disconnect(self, message: dict) -> None:
        if (flusher := self._stop_pushes()) is not None:
            await asyncio.wait([flusher])  # gone before the consumer is: it sends on this socket
        await super().websocket_disconnect(message)

    def _stop_pushes(self) -> asyncio.Task | None:
        """Drop what is pending and cancel the flush (unless it is the caller, closing the socket)."""
        self._pushes_stopped = True
        self._pending = Updates()
        flusher = self._flusher
        if flusher is None or flusher is asyncio.current_task():
            return None
        flusher.cancel()
        return flusher
