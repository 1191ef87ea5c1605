"""What each dashboard partial needs, built the same way for the page, the HTMX endpoints and the
WebSocket consumer (which renders without a request). Synchronous: the consumer calls these through
database_sync_to_async, never on the event loop."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.triage import DashboardView, LiveGrid
from detection.serving.runtime import ModelUnavailable, serving
from detection.stock import selectors

PAGE = "dashboard/index.html"
ACTIVITY_LIMIT = 20
T = TypeVar("T")


class SharedRenders:
    """What one frame's push renders, built once for every open screen that shows it alike.

    Every screen gets every frame's "stock changed" event, and each used to query and render the
    same fragments for it: with 10 dashboards and 5 camera pages open that was about nine tenths
    of the server's CPU per frame (README "Performance"). A frame's fragments are keyed by
    (camera_id, event_id, what, and whatever else the render depends on: the screen's view, the
    viewer's permissions); the first screen builds them, the others reuse them. A new frame has a
    new event_id, so nothing stale is ever served; only the newest ``size`` entries are kept.
    Threshold and zone changes (event_id None) are rare and rendered per screen, as before.
    """

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: two screens may both build it once, never wrong
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


shared_renders = SharedRenders()


def _shared(camera_id: int, event_id: int | None, *what: Hashable) -> Callable[[Callable[[], T]], T]:
    """Build through shared_renders for a frame's push; build every time for a manager's change."""
    if event_id is None:
        return lambda build: build()
    return lambda build: shared_renders.get((camera_id, event_id, *what), build)


@dataclass(frozen=True)
class Viewer:
    """Who looks at the dashboard, as far as rendering cares."""

    can_manage: bool
    csrf_token: str = ""

    @classmethod
    def of(cls, user, csrf_token: str = "") -> Viewer:
        return cls(can_manage=user.has_perm("detection.change_stockstate"), csrf_token=csrf_token)


def model_info() -> dict[str, Any]:
    """The model this worker serves: the active ModelVersion (version_id) or the bundled file (None)."""
    try:
        model = serving()
    except ModelUnavailable as exc:
        return {"loaded": False, "error": str(exc)}
    detector = model.detector
    return {"loaded": True, "name": detector.model_name, "version": getattr(detector, "version", ""),
            "input_size": detector.input_size, "label": model.label, "version_id": model.version_id,
            "version_name": model.version_name}


def status_context(cards: list[selectors.CameraCard] | None = None) -> dict[str, Any]:
    return {"summary": selectors.system_summary(cards=cards), "model": model_info()}


def activity_context(view: DashboardView) -> dict[str, Any]:
    slug = view.camera if view.camera and selectors.camera_by_slug(view.camera) else ""
    return {
        "events": selectors.activity_log(camera_slug=slug or None, limit=ACTIVITY_LIMIT),
        "activity_filter": slug,
        "activity_cameras": selectors.camera_choices(),
        "view": view,
    }


def inventory_context(view: DashboardView, cards: list[selectors.CameraCard] | None = None) -> dict[str, Any]:
    """The grid as `view` filters and sorts it, with the filter's options and their counts."""
    cards = selectors.camera_cards() if cards is None else cards
    return {"shown_cards": view.apply(cards), "cards_total": len(cards), "view": view,
            "status_choices": view.status_choices(cards), "sort_choices": view.sort_choices()}


def page_context(viewer: Viewer, *, view: DashboardView | None = None) -> dict[str, Any]:
    view = view or DashboardView()
    cards = selectors.camera_cards()
    return {
        "cards": cards,
        "can_manage": viewer.can_manage,
        "csrf_token": viewer.csrf_token,
        "ingest_max_bytes": settings.INGEST_MAX_BYTES,
        "now": timezone.now(),
        **status_context(cards),
        **activity_context(view),
        **inventory_context(view, cards),
    }


def render_partial(name: str, context: dict[str, Any], request=None) -> str:
    return render_to_string(f"{PAGE}#{name}", context, request=request)


# --- WebSocket payloads: top-level elements with ids, each swapped out-of-band -----------------


def snapshot_html(viewer: Viewer, *, grid: LiveGrid) -> str:
    """Everything, for a fresh or re-established connection: whatever it missed is replaced."""
    context = {**page_context(viewer, view=grid.view), "oob": True}
    grid.remember(context["cards"])
    return "".join(
        render_partial(name, context) for name in ("system-status", "inventory", "thresholds", "activity-log")
    )


def remember_view(*, grid: LiveGrid) -> None:
    """The screen changed its view over HTTP (which rendered it): the socket's grid learns what is shown."""
    grid.remember(selectors.camera_cards())


def update_html(viewer: Viewer, *, camera_id: int, event_id: int | None, grid: LiveGrid) -> str:
    """After one camera's frame (event_id) or threshold change (event_id None).

    The card is swapped in place when it stays where it is; a card that enters or leaves this screen's
    filter, or changes place in its order or status, re-renders the grid, so a screen filtered to
    CRITICAL never shows a camera that is not (and shows one the moment it becomes CRITICAL).
    """
    card = _shared(camera_id, event_id, "card")(lambda: selectors.camera_card(camera_id=camera_id))
    parts = [_shared(camera_id, event_id, "system-status")(
        lambda: render_partial("system-status", {**status_context(), "oob": True}))]
    change, status_changed = ("grid", True) if card is None else grid.after_change(card)  # None: deactivated
    if change == "grid":
        cards = _shared(camera_id, event_id, "cards")(selectors.camera_cards)
        grid.remember(cards)
        parts.append(_shared(camera_id, event_id, "inventory", grid.view)(
            lambda: render_partial("inventory", {**inventory_context(grid.view, cards), "oob": True})))
    else:
        if change == "card":
            parts.append(_shared(camera_id, event_id, "camera-card")(
                lambda: render_partial("camera-card", {"card": card, "oob": True})))
        if status_changed:  # the counts beside each status filter (this screen's own cards)
            choices = grid.view.status_choices(grid.keys.values())
            parts.append(render_partial("triage-status", {"view": grid.view, "status_choices": choices,
                                                          "oob": True}))
    if card is None:
        return "".join(parts)
    camera_slug = grid.view.camera
    if event_id is None:
        # Only threshold changes touch the settings row, so a frame never clobbers a manager's typing.
        parts.append(render_partial("threshold-row", {"card": card, "can_manage": viewer.can_manage,
                                                      "csrf_token": viewer.csrf_token, "oob": True}))
    elif not camera_slug or camera_slug == card.slug:
        parts.append(_shared(camera_id, event_id, "activity-log", grid.view)(
            lambda: render_partial("activity-log", {**activity_context(grid.view), "new_event_id": event_id,
                                                    "oob": True})))
    return "".join(parts)
