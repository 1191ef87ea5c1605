"""Tell every open dashboard that a camera's stock changed (called after the ingest commit)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


def stock_updated(*, camera_id: int, event_id: int | None) -> None:
    """Send a small event (ids only); consumers render the partials themselves."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            DASHBOARD_GROUP, {"type": "stock.updated", "camera_id": camera_id, "event_id": event_id}
        )
    except Exception:  # a dead Redis must not turn a stored frame into a 500 for the camera
        logger.exception("could not broadcast stock update for camera %s", camera_id)
