"""Reading the outbox: the alert log page (dashboard) shows every alert and how its delivery went."""

from __future__ import annotations

from detection.alerts.models import AlertDelivery


def alert_log(*, camera_slug: str | None = None, limit: int = 100) -> list[AlertDelivery]:
    """The outbox, newest first: every alert with its channel, recipients and how its delivery went."""
    alerts = AlertDelivery.objects.select_related("camera")
    if camera_slug:
        alerts = alerts.filter(camera__slug=camera_slug)
    return list(alerts.order_by("-id")[:limit])
