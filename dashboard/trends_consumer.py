"""Sockets about one camera (`/ws/cameras/<slug>/...`), and the trends page's.

CameraSocket holds what they share: the dashboard socket's auth rules and close codes, plus 4404 for
a camera that does not exist, membership of the dashboard group while open (through the worker's
hub), and merged pushes of their own camera's updates only (dashboard/pushes.py). The trends socket
says "this camera changed" (a stored frame or new levels) so a page showing a range that ends now
fetches its chart data again: small JSON, not HTML, the chart is drawn by the page.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard.broadcasts import DASHBOARD_GROUP
from dashboard.pushes import CoalescedPushes, Updates
from dashboard.socket_auth import NO_ACCESS, SIGNED_OUT, VIEW, scope_session_group

UNKNOWN_CAMERA = 4404


def _camera_id(slug: str) -> int | None:
    from devices.models import Camera

    return Camera.objects.filter(slug=slug).values_list("pk", flat=True).first()


class CameraSocket(CoalescedPushes, AsyncWebsocketConsumer):
    """Signed in, a dashboard role, a known camera; else accepted and closed with the reason's code."""

    camera_id: int | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        code = None
        if user is None or not user.is_authenticated:
            code = SIGNED_OUT
        elif not await database_sync_to_async(user.has_perm)(VIEW):
            code = NO_ACCESS
        else:
            self.slug = self.scope["url_route"]["kwargs"]["slug"]
            self.camera_id = await database_sync_to_async(_camera_id)(self.slug)
            code = UNKNOWN_CAMERA if self.camera_id is None else None
        await self.accept()
        if code is not None:
            await self.close(code=code)
            return
        await self.prepare(user)  # before joining the group: no update arrives half-prepared
        await self.join_updates(DASHBOARD_GROUP)
        self.session_group = scope_session_group(self.scope)
        if self.session_group:
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self.opened()
        self.start_pushes()

    async def prepare(self, user) -> None:
        """Per-connection state the handlers need (subclasses)."""

    async def opened(self) -> None:
        """First message after joining, e.g. a snapshot (subclasses)."""

    async def disconnect(self, code: int) -> None:
        if self.camera_id is not None:
            self.leave_updates(DASHBOARD_GROUP)
        if getattr(self, "session_group", None):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)

    def wants(self, camera_id: int) -> bool:
        return camera_id == self.camera_id

    async def session_ended(self, event: dict) -> None:
        """This socket's session logged out (dashboard/socket_auth.py)."""
        await self.close(code=SIGNED_OUT)


class TrendsConsumer(CameraSocket):
    renders_in_thread = False  # no database: only the sign-in check, when due, makes a trip

    def render_push(self, updates: Updates) -> str:
        """One message per push, with the newest frame's event id (None: only the levels changed)."""
        return json.dumps({"camera": self.slug, "event_id": updates.frames.get(self.camera_id)})
