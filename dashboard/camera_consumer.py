"""WebSocket for one camera's page: after each of its frames (or a manager's change) pushes the
page's live partials (summary, latest frame, events and their history) as HTMX out-of-band
fragments, merged like the dashboard's (dashboard/pushes.py: the newest frame wins). Same auth rules
and close codes as the dashboard socket; the ORM is only touched inside database_sync_to_async."""

from __future__ import annotations

from channels.db import database_sync_to_async

from dashboard import camera, panels
from dashboard.pushes import Updates
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

    def render_push(self, updates: Updates) -> str:
        """This camera's updates since the last push (in a worker thread)."""
        if self.camera_id in updates.changed:  # thresholds or zones changed, so the threshold row is sent too
            return self._live_html(thresholds=True)
        return self._frame_html(updates.frames[self.camera_id])

    def _live_html(self, *, thresholds: bool) -> str:
        context = camera.camera_context(self.camera_id, self.viewer, user=self.scope["user"])
        if context is None:
            return ""
        return camera.render_live(context, thresholds=thresholds)

    @database_sync_to_async
    def _render(self, *, thresholds: bool) -> str:
        return self._live_html(thresholds=thresholds)

    def _frame_html(self, event_id: int) -> str:
        """A frame's live partials, rendered once for every page of this camera whose viewer has the
        same say in them: the event rows' "count is wrong" action (flag_count) and can_manage (the
        frame partials carry no CSRF token; the threshold row, which does, is not sent for a frame)."""
        user = self.scope["user"]
        key = ("camera-live", self.viewer.can_manage, user.has_perm("detection.flag_count"))
        return panels.shared_renders.get((self.camera_id, event_id, *key),
                                         lambda: self._live_html(thresholds=False))
