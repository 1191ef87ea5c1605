"""Reading the outbox: the alert log page (dashboard) shows every alert, how its delivery went and who is on it."""

from __future__ import annotations

from detection.alerts.models import AlertDelivery


def alert_log(*, camera_slug: str | None = None, open_only: bool = False, limit: int = 100) -> list[AlertDelivery]:
    """The outbox, newest first: every alert with its channel, recipients, how its delivery went and
    who acknowledged it; ``open_only``: those nobody has acknowledged yet."""
    alerts = AlertDelivery.objects.select_related("camera", "acknowledged_by")
    if camera_slug:
        alerts = alerts.filter(camera__slug=camera_slug)
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    return list(alerts.order_by("-id")[:limit])
