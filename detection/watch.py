"""A background thread per server process that notices cameras going OFFLINE (and coming back)
without waiting for a frame: nothing arrives from a dead camera to trigger anything."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = threading.Event()


def start_offline_watch(interval_s: int) -> bool:
    """Start the watcher once per process; interval 0 disables it. Returns whether it started."""
    if interval_s <= 0 or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_run, args=(interval_s,), name="offline-watch", daemon=True).start()
    return True


def _run(interval_s: int) -> None:
    from detection.services import cameras_check_offline

    while True:
        time.sleep(interval_s)
        try:
            for alert in cameras_check_offline():
                logger.info("camera %s: %s -> %s", alert.camera_slug, alert.previous_status, alert.status)
        except Exception:  # a database hiccup must not end the watch
            logger.exception("offline check failed")
        finally:
            close_old_connections()
