"""OFFLINE: a camera that sent no frame or heartbeat within its timeout.

Nothing arrives from a dead camera to trigger anything, so a background thread per server process
(the offline watch, started from asgi.py) checks every OFFLINE_CHECK_INTERVAL_S seconds, and
`manage.py check_cameras` does the same once. Each transition alerts once (OFFLINE, then back),
goes on the camera's timeline, and is announced through the "stock changed" hook.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from detection.alerts import StockAlert, alerts_enqueue
from detection.background import PeriodicThread
from detection.history.services import status_change_record
from detection.hooks import stock_changed
from detection.stock.models import Status, StockState
from detection.stock.notify import shown_status, stock_alert_for

logger = logging.getLogger(__name__)


def cameras_check_offline(*, now: datetime | None = None) -> list[StockAlert]:
    """Alert once when an active camera goes OFFLINE and once when it is back; returns the alerts.

    The conditional UPDATE on offline_alerted_at decides which caller sends, so several workers
    checking at the same moment send one alert, not one each.
    """
    now = now or timezone.now()
    alerts = []
    states = StockState.objects.select_related("camera").filter(
        camera__is_active=True, camera__last_seen_at__isnull=False
    )
    for state in states:
        camera = state.camera
        offline = camera.is_offline(now)
        shown = shown_status(state)  # what the dashboard showed (or shows again): FAULT included
        if offline and state.offline_alerted_at is None:
            alert = stock_alert_for(camera, state, shown, Status.OFFLINE, reason=state.fault)
            claimed = _offline_claim(state, alert, alerted_at=now, now=now)
        elif not offline and state.offline_alerted_at is not None:
            alert = stock_alert_for(camera, state, Status.OFFLINE, shown, reason=state.fault)
            claimed = _offline_claim(state, alert, alerted_at=None, now=now)
        else:
            continue
        if claimed:
            alerts.append(alert)
            stock_changed(camera_id=camera.pk, event_id=None)  # committed already (_offline_claim)
    return alerts


def _offline_claim(state: StockState, alert: StockAlert, *, alerted_at: datetime | None, now: datetime) -> bool:
    """The caller whose UPDATE flips offline_alerted_at writes the alert, in the same transaction."""
    with transaction.atomic():
        claimed = StockState.objects.filter(pk=state.pk, offline_alerted_at__isnull=alerted_at is not None).update(
            offline_alerted_at=alerted_at
        )
        if claimed:
            alerts_enqueue(camera=state.camera, alert=alert, now=now)
            if alerted_at is not None:
                camera_went_offline(camera_id=state.camera_id, at=now)
    return bool(claimed)


def camera_went_offline(*, camera_id: int, at: datetime) -> None:
    """Put OFFLINE on the camera's timeline (in the watch's transaction; the next frame records
    OFFLINE -> its status). A stock action: the state row is locked and updated here, the history
    room only appends the status change."""
    with transaction.atomic():
        state = StockState.objects.select_for_update().filter(camera_id=camera_id).only("timeline_status").first()
        if state is None or state.timeline_status in (Status.OFFLINE, Status.WAITING):
            return
        status_change_record(camera_id=camera_id, previous=state.timeline_status, status=Status.OFFLINE, at=at)
        StockState.objects.filter(pk=camera_id).update(timeline_status=Status.OFFLINE)


def _check_and_log() -> None:
    for alert in cameras_check_offline():
        logger.info("camera %s: %s -> %s", alert.camera_slug, alert.previous_status, alert.status)


offline_watch = PeriodicThread("offline-watch", _check_and_log)


def start_offline_watch(interval_s: int) -> bool:
    """Start the watch once per process; interval 0 disables it. Returns whether it started."""
    return offline_watch.start(interval_s)


def stop_offline_watch() -> None:
    """Called when the server shuts down: no check starts after this (one under way finishes)."""
    offline_watch.stop()
