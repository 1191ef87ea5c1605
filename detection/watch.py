"""A background thread per server process that notices cameras going OFFLINE (and coming back)
without waiting for a frame: nothing arrives from a dead camera to trigger anything."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = threading.Event()
_stopped = threading.Event()


def start_offline_watch(interval_s: int) -> bool:
    """Start the watcher once per process; interval 0 disables it. Returns whether it started."""
    if interval_s <= 0 or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_run, args=(interval_s,), name="offline-watch", daemon=True).start()
    return True


def stop_offline_watch() -> None:
    """Called when the server shuts down: no check starts after this (one under way finishes)."""
    _stopped.set()


def _run(interval_s: int) -> None:
    from detection.services import cameras_check_offline

    while not _stopped.wait(interval_s):
        try:
            for alert in cameras_check_offline():
                logger.info("camera %s: %s -> %s", alert.camera_slug, alert.previous_status, alert.status)
        except Exception:  # a database hiccup must not end the watch
            logger.exception("offline check failed")
        finally:
            close_old_connections()
