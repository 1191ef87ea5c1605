"""What a stock change tells people: the alert for a camera's state, written to the outbox
(detection.alerts) in the transaction that made the change, so a rollback sends nothing.

Stock alerts when the status enters or leaves CRITICAL; fault alerts once when a camera's frames stop
being countable and once when they are again; the OFFLINE pair comes from detection.stock.offline,
except that the first frame from a camera alerted OFFLINE says "back online" itself.
"""

from __future__ import annotations

from datetime import datetime

from detection.alerts import StockAlert, alert_needed, alerts_enqueue
from detection.stock.models import Status, StockState
from devices.models import Camera


def stock_alert_for(camera: Camera, state: StockState, previous_status: str, status: str,
                    reason: str = "") -> StockAlert:
    return StockAlert(
        camera_slug=camera.slug, camera_name=camera.name, location=camera.location,
        previous_status=previous_status, status=status, smoothed_count=state.smoothed_count,
        critical_level=state.critical_level, target_capacity=state.target_capacity, reason=reason,
    )


def fault_alert_enqueue(camera: Camera, state: StockState, previous_fault: str, now: datetime) -> None:
    """Once when a camera's frames stop being countable, once when they are again."""
    if bool(previous_fault) == bool(state.fault):
        return
    if state.fault:
        alert = stock_alert_for(camera, state, state.count_status, Status.FAULT, reason=state.fault)
    else:
        alert = stock_alert_for(camera, state, Status.FAULT, state.count_status, reason=previous_fault)
    alerts_enqueue(camera=camera, alert=alert, now=now)  # in this transaction: committed with the change


def shown_status(state: StockState) -> str:
    """What the dashboard shows for the camera (OFFLINE aside): FAULT while its frames cannot be counted."""
    return Status.FAULT if state.fault else state.count_status


def back_online_alert_enqueue(camera: Camera, state: StockState, now: datetime) -> None:
    """A frame from a camera that was alerted OFFLINE: one "back online" alert, from OFFLINE to what the
    dashboard shows now (FAULT with its reason, or the count status), claimed in this transaction so
    the offline checker does not send a second one (its conditional UPDATE finds nothing to flip)."""
    StockState.objects.filter(pk=state.pk).update(offline_alerted_at=None)
    state.offline_alerted_at = None
    alert = stock_alert_for(camera, state, Status.OFFLINE, shown_status(state), reason=state.fault)
    alerts_enqueue(camera=camera, alert=alert, now=now)


def stock_alert_enqueue(camera: Camera, state: StockState, previous_status: str, now: datetime) -> None:
    if alert_needed(previous_status, state.count_status):
        alerts_enqueue(camera=camera, alert=stock_alert_for(camera, state, previous_status, state.count_status),
                       now=now)
