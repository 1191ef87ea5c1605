"""One listener per worker for the "dashboard" group: every open screen's updates in one receive.

Each open screen (dashboard, camera page, trends page) used to join the group with its own channel,
so every frame's message was queued, unpacked and dispatched once per screen (Channels' receive
loop: a task and an asyncio.wait per message), about 25 times a second for each screen at 25
cameras, whatever the screen did with it. Now the worker's hub joins the group once and hands each
message to its screens by a plain call (`CoalescedPushes.deliver`, which only notes it; the screen's
throttled push does the work). A screen still has its own channel for its own messages (its
session's logout).

One hub per event loop (tests run several loops in one process). With the in-memory layer the group
forgets a member after its `group_expiry` (a day): the hub joins again every GROUP_REFRESH_S.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

GROUP_REFRESH_S = 3600.0


class Screen(Protocol):
    def deliver(self, message: dict) -> None: ...


class Hub:
    def __init__(self, group: str, loop: asyncio.AbstractEventLoop) -> None:
        self.group, self.loop = group, loop
        self.screens: set[Screen] = set()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []

    async def join(self, screen: Screen) -> None:
        """From now on `screen` gets the group's messages (once this returns, the hub listens)."""
        self.screens.add(screen)
        if self._started is None:  # the first screen starts it, in its own step (no task to wait for)
            self._started = self.loop.create_future()
            try:
                await self._start()
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started.exception()  # retrieved: later joins retry
                self._started = None
                raise
            self._started.set_result(None)
        elif not self._started.done():
            await asyncio.shield(self._started)

    def leave(self, screen: Screen) -> None:
        self.screens.discard(screen)

    async def _start(self) -> None:
        self.channel = await self.layer.new_channel("dashboard-hub.")
        await self.layer.group_add(self.group, self.channel)
        self._tasks = [self.loop.create_task(self._listen(), name="dashboard-hub"),
                       self.loop.create_task(self._stay_in_group(), name="dashboard-hub-refresh")]

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer lost its connection: it reconnects, we keep listening
                logger.exception("dashboard hub: receive failed")
                await asyncio.sleep(1)
                continue
            for screen in tuple(self.screens):
                try:
                    screen.deliver(message)
                except Exception:
                    logger.exception("dashboard hub: a screen failed to take an update")

    async def _stay_in_group(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_S)
            try:
                await self.layer.group_add(self.group, self.channel)
            except Exception:
                logger.exception("dashboard hub: could not renew its group membership")

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    def retire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Replaced by a hub on another loop: stop, and leave the group (from the new loop, which runs)."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stop)
        if self.channel is not None:
            task = loop.create_task(self.layer.group_discard(self.group, self.channel))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())  # nothing to report


_hubs: dict[str, Hub] = {}


def has_screens(group: str) -> bool:
    """Whether a screen of this worker takes `group`'s messages now (any thread may ask). The hub's
    channel stays in the group when its last screen leaves, so the group's members do not say it."""
    current = _hubs.get(group)
    return current is not None and bool(current.screens)


def hub(group: str) -> Hub:
    """This event loop's hub for `group` (a new one when the loop changed: tests, a restarted server)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(group)
    if current is None or current.loop is not loop:
        if current is not None:
            current.retire(loop)
        current = _hubs[group] = Hub(group, loop)
    return current
