"""A stored frame's dashboard fragments, rendered once in the whole deployment (issue 18).

Every open dashboard shows a frame the same way: its camera card, its activity-log row and the system
status depend on no viewer (no permission, no CSRF token, the site's time zone). Each worker used to
render them for its own screens, so with screens on two workers every frame was rendered twice (and
with N workers N times). Now the worker that stored the frame renders them after the commit, in a
thread of its own (never on the event loop, never in the camera's request thread), and sends them in
the frame's "stock.updated" message; consumers assemble their pushes from them without a query
(panels.fragments_html). Only while some dashboard is open anywhere (dashboard/presence.py): with no
screen a frame costs nothing more than its ids-only message.

A message without fragments (no screen was known when it was stored, the render failed, a threshold
change) makes the screen render its push itself, as before: fragments only ever save work.

Message fields (plain types: the Redis layer packs them with msgpack):
- "card": {"html", "key": [slug, name, location, status, smoothed count], "event": the newest event
  the card shows (the card is read after the frame's commit, so it may show a later frame already)}
- "row": {"slug", "all": the row with its camera column (log of every camera), "one": without it}
- "status": {"at": time.time() when its render started (every frame committed before is in it),
  "html"}; a push takes the newest, so frames from two workers arriving out of order never show an
  older status over a newer one.
- "cameras": a digest of the log's camera links (panels.choices_digest): a push sends only new rows
  while the screen's log was rendered for the same cameras.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from django.db import close_old_connections

from dashboard import metrics

logger = logging.getLogger(__name__)

Frame = tuple[int, int]  # (camera_id, event_id)
# send(camera_id, event_id, fragments or None, loop): hands the message on; returns the send's future
# (done once the layer took it) or None when it was sent already.
Send = Callable[[int, int, "dict[str, Any] | None", Any], "Future | None"]


def render_frames(frames: list[Frame]) -> dict[int, dict[str, Any] | None]:
    """The fragments of these stored frames, by event id (None: the camera is gone or inactive, or
    the event was trimmed already). One system status for all of them, rendered after they all
    committed; cards, rows and the camera links in one query each."""
    from dashboard import panels
    from detection.stock import selectors

    status_at = time.time()  # before any read: every frame committed before now is in what follows
    camera_ids = sorted({camera_id for camera_id, _ in frames})
    cards = selectors.camera_cards_by_id(camera_ids=camera_ids)
    events = {event.pk: event for event in selectors.activity_log(event_ids=[e for _, e in frames],
                                                                   limit=len(frames))}
    cameras = selectors.camera_choices()
    status = {"at": status_at, "html": panels.render_partial("system-status", {**panels.status_context(), "oob": True})}
    digest = panels.choices_digest(cameras)
    card_parts = {camera_id: panels.card_fragment(card) for camera_id, card in cards.items()}
    metrics.fragments_rendered(cards=len(card_parts), rows=len(events), statuses=1)
    result: dict[int, dict[str, Any] | None] = {}
    for camera_id, event_id in frames:
        card, event = card_parts.get(camera_id), events.get(event_id)
        if card is None or event is None:
            result[event_id] = None
            continue
        result[event_id] = {"card": card, "row": panels.row_fragment(event), "status": status, "cameras": digest}
    return result


class Renderer:
    """One thread per worker that renders the fragments of the frames handed to it, in order, and
    hands each frame's message to `send`. Frames that arrive while it renders are rendered together
    next: one status and one query per kind for all of them."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._queue: queue.SimpleQueue[tuple[Frame, Any, Future] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, camera_id: int, event_id: int, loop: Any = None) -> Future:
        """Queue a stored frame (`loop`: passed on to send); returns at once. The future is done once
        the frame's message was sent (or could not be)."""
        done: Future = Future()
        self._queue.put(((camera_id, event_id), loop, done))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dashboard-fragments", daemon=True)
                self._thread.start()
        return done

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while True:  # whatever else is queued now goes with it
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            self._render_and_send(batch)

    def _render_and_send(self, batch: list[tuple[Frame, Any, Future]]) -> None:
        frames = [frame for frame, _, _ in batch]
        try:
            close_old_connections()
            rendered = render_frames(frames)
        except Exception:  # the screens render it themselves, as without fragments
            logger.exception("dashboard fragments: render failed for %d frame(s)", len(frames))
            rendered = {}
        finally:
            close_old_connections()
        for (camera_id, event_id), loop, done in batch:
            try:
                sent = self._send(camera_id, event_id, rendered.get(event_id), loop)
            except Exception:
                logger.exception("dashboard fragments: could not send camera %s's update", camera_id)
                sent = None
            if sent is None:
                done.set_result(None)
            else:
                sent.add_done_callback(lambda _, done=done: done.set_result(None))

    def stop(self) -> None:
        """For tests: let the thread finish what is queued and end."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None
        self._queue = queue.SimpleQueue()
