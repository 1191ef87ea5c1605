"""WebSocket for one camera's page: after each of its frames (or a manager's change) pushes the
page's live partials (summary, latest frame, events and their history) as HTMX out-of-band
fragments. Same auth rules and close codes as the dashboard socket; the ORM is only touched
inside database_sync_to_async."""

from __future__ import annotations

from channels.db import database_sync_to_async

from dashboard import camera, panels
from dashboard.trends_consumer import CameraSocket


class CameraConsumer(CameraSocket):
    async def prepare(self, user) -> None:
        csrf = self.scope.get("cookies", {}).get("csrftoken", "")
        self.viewer: panels.Viewer = await database_sync_to_async(panels.Viewer.of)(user, csrf)

    async def opened(self) -> None:
        # A page that (re)connects catches up on whatever it missed.
        await self.send(text_data=await self._render(thresholds=False))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # nothing to say (the dashboard script may send its activity filter)

    async def stock_updated(self, event: dict) -> None:
        if event["camera_id"] != self.camera_id or not await self.still_signed_in():
            return
        # event_id None: thresholds or zones changed, so the threshold row is sent too.
        await self.send(text_data=await self._render(thresholds=event.get("event_id") is None))

    @database_sync_to_async
    def _render(self, *, thresholds: bool) -> str:
        context = camera.camera_context(self.camera_id, self.viewer, user=self.scope["user"])
        if context is None:
            return ""
        return camera.render_live(context, thresholds=thresholds)
