"""The dashboard's WebSocket: pushes HTMX out-of-band fragments to every open dashboard.

Protocol (htmx-ext-ws on the page):
- connect: logged-in users with the dashboard role only (else closed with 4401 / 4403); the consumer
  joins the "dashboard" group (through the worker's hub, dashboard/hub.py) and sends a full snapshot
  (every partial), so a page that reconnects after a restart catches up on whatever it missed.
- server -> page: HTML whose top-level elements carry ids (and hx-swap-oob); htmx swaps each in place.
- connect query: the page's view (`status`, `q`, `sort`, `camera`; dashboard/triage.py), so the
  snapshot and every push obey the screen's filter.
- page -> server: JSON with any of `camera`, `status`, `q`, `sort` when the view changes (the page
  sends what its URL now says); the grid and the activity log come back re-rendered for it. Anything
  else is ignored.
- group event "stock.updated" {camera_id, event_id, fragments?}: a frame's card, log row and system
  status rendered once where it was stored (dashboard/fragments.py) are put together on the loop
  with no query; without them (or when the grid must change) re-render that camera's partials; a card that
  enters or leaves this screen's filter (or moves in its order) re-renders the grid instead. Updates
  are merged per screen: at most one push per DASHBOARD_PUSH_INTERVAL_S, with every camera that
  changed in it (dashboard/pushes.py; panels.updates_html).

The ORM is only touched inside database_sync_to_async: rendering runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import broadcasts, panels, presence
from dashboard import metrics
from dashboard.broadcasts import DASHBOARD_GROUP
from dashboard.pushes import CoalescedPushes, Updates
from dashboard.socket_auth import NO_ACCESS, SIGNED_OUT, VIEW, scope_session_group
from dashboard.triage import DashboardView, LiveGrid
from detection.rest import json_loads

logger = logging.getLogger(__name__)

# Application close codes (4000-4999 are ours): the socket has no logged-in user / the user has no
# dashboard role (detection.view_stockstate: Operators, Managers, Auditors). Checked again before a
# push (at most every SOCKET_AUTH_RECHECK_S) and closed at logout (dashboard/socket_auth.py).
VIEW_FIELDS = ("status", "q", "sort", "camera")


class DashboardConsumer(CoalescedPushes, AsyncWebsocketConsumer):
    groups: list[str] = []  # joined explicitly after the auth check

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept only to close with a code the page understands: a wall screen whose session
            # expired should say "signed out" and go to the login page, not retry forever.
            await self.accept()
            await self.close(code=SIGNED_OUT)
            return
        if not await database_sync_to_async(user.has_perm)(VIEW):
            # Same as the page (403): logged in, but in no group that may watch the dashboard.
            await self.accept()
            await self.close(code=NO_ACCESS)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.grid = LiveGrid(DashboardView.from_query(query))
        csrf = self.scope.get("cookies", {}).get("csrftoken", "")
        self.viewer: panels.Viewer = await database_sync_to_async(panels.Viewer.of)(user, csrf)
        broadcasts.remember_server_loop(asyncio.get_running_loop())
        await self.join_updates(DASHBOARD_GROUP)
        self.session_group = scope_session_group(self.scope)
        if self.session_group:
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self.accept()
        self.counted = True
        metrics.websocket_opened()
        presence.opened()  # frames stored from now on come with their fragments
        await self.send(text_data=await self._render(panels.snapshot_html, grid=self.grid))
        self.start_pushes()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            self.counted = False
            metrics.websocket_closed()
            presence.closed()
        self.leave_updates(DASHBOARD_GROUP)
        if getattr(self, "session_group", None):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json_loads(text_data or "")
        except ValueError:
            return
        if not isinstance(message, dict) or not any(name in message for name in VIEW_FIELDS):
            return
        view = self.grid.view
        current = {"status": view.status, "q": view.q, "sort": view.sort, "camera": view.camera}
        changes = {name: str(message[name] or "")[:100] for name in VIEW_FIELDS if name in message}
        self.grid = LiveGrid(DashboardView.from_query({**current, **changes}))
        # Only remember: the page already shows this view (the HTTP answer that changed it). Sending a grid
        # back raced with the next change: a grid for the older view could land after the newer one.
        await self._remember_view()

    def render_push(self, updates: Updates) -> str:
        """Frames and threshold changes merged since the last push (in a worker thread)."""
        return panels.updates_html(self.viewer, updates=updates, grid=self.grid)

    def push_on_loop(self, updates: Updates) -> str | None:
        """Frames whose fragments came with them (dashboard/fragments.py): no query, no worker thread."""
        return panels.fragments_html(updates, grid=self.grid, render=False)

    @database_sync_to_async
    def _render(self, build, **kwargs) -> str:
        return build(self.viewer, **kwargs)

    @database_sync_to_async
    def _remember_view(self) -> None:
        panels.remember_view(grid=self.grid)

    async def session_ended(self, event: dict) -> None:
        """This socket's session logged out (dashboard/socket_auth.py)."""
        await self.close(code=SIGNED_OUT)
