"""The one way detection tells the outside world that a camera's stock changed: "stock changed".

Announced after the change commits (a rolled-back frame announces nothing), with ids only, never an
image. Who listens subscribes from its own side: the dashboard does in its AppConfig.ready, so
detection never imports the dashboard. A receiver that fails is logged; the frame stays stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

StockChangedReceiver = Callable[..., None]  # receiver(*, camera_id: int, event_id: int | None)
_receivers: list[StockChangedReceiver] = []


def stock_changed_subscribe(receiver: StockChangedReceiver) -> None:
    """Call ``receiver(camera_id=..., event_id=...)`` after every stock change (once, however often asked)."""
    if receiver not in _receivers:
        _receivers.append(receiver)


def stock_changed_unsubscribe(receiver: StockChangedReceiver) -> None:
    if receiver in _receivers:
        _receivers.remove(receiver)


def stock_changed(*, camera_id: int, event_id: int | None) -> None:
    """Announce now: for callers outside a transaction (the offline watch after its own commit)."""
    for receiver in tuple(_receivers):
        try:
            receiver(camera_id=camera_id, event_id=event_id)
        except Exception:  # a listener's failure must not turn a stored frame into an error
            logger.exception("stock changed: receiver %r failed for camera %s", receiver, camera_id)


def stock_changed_on_commit(*, camera_id: int, event_id: int | None) -> None:
    """Announce once the caller's transaction commits (nothing when it rolls back)."""
    transaction.on_commit(lambda: stock_changed(camera_id=camera_id, event_id=event_id))
