"""What each dashboard partial needs, built the same way for the page, the HTMX endpoints and the
WebSocket consumer (which renders without a request). Synchronous: the consumer calls these through
database_sync_to_async, never on the event loop."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard import metrics
from dashboard.pushes import Updates
from dashboard.triage import CardKey, DashboardView, LiveGrid
from detection.serving.runtime import ModelUnavailable, serving
from detection.stock import selectors

PAGE = "dashboard/index.html"
ACTIVITY_LIMIT = 20
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


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

    def get_many(self, keys: Mapping[K, Hashable | None], build: Callable[[list[K]], dict[K, T]]) -> dict[K, T | None]:
        """Several values at once: `keys` maps each item to its key (None: never shared); the items
        not found are built together by `build(items)` (one query for all of them), and an item it
        leaves out is None (and shared as None)."""
        found: dict[K, T | None] = {}
        with self._lock:
            for item, key in keys.items():
                if key is not None and key in self._items:
                    self._items.move_to_end(key)
                    found[item] = self._items[key]
        missing = [item for item in keys if item not in found]
        if missing:
            built = build(missing)
            with self._lock:
                for item in missing:
                    found[item] = built.get(item)
                    if (key := keys[item]) is not None:
                        self._items[key] = found[item]
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return {item: found[item] for item in keys}  # in the order asked

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


shared_renders = SharedRenders(size=1024)  # camera pages keep 20 rows per camera in it


def _shared(camera_id: int, event_id: int | None, *what: Hashable) -> Callable[[Callable[[], T]], T]:
    """Build through shared_renders for a frame's push; build every time for a manager's change."""
    if event_id is None:
        return lambda build: build()
    return lambda build: shared_renders.get((camera_id, event_id, *what), build)


def _shared_batch(newest: int | None) -> Callable[..., Callable[[Callable[[], T]], T]]:
    """For the parts of a merged push that read every camera (system status, the grid, the log):
    shared by the newest frame's event id (ids only grow, so a later frame is a new key); built
    every time when None (a manager's change is part of the push)."""
    def part(*what: Hashable) -> Callable[[Callable[[], T]], T]:
        if newest is None:
            return lambda build: build()
        return lambda build: shared_renders.get(("batch", newest, *what), build)

    return part


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
    cameras = selectors.camera_choices()
    slug = _activity_filter(view, cameras)
    return {
        "events": selectors.activity_log(camera_slug=slug or None, limit=ACTIVITY_LIMIT),
        "activity_filter": slug,
        "activity_cameras": cameras,
        "activity_limit": ACTIVITY_LIMIT,
        "view": view,
    }


def _activity_filter(view: DashboardView, cameras: list[tuple[str, str]]) -> str:
    """The camera the log shows ("" = all): the view's, if it is an active camera."""
    return view.camera if view.camera and any(slug == view.camera for slug, _ in cameras) else ""


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
    grid.status_at = time.time()  # before its reads: a frame's status rendered later is newer
    context = {**page_context(viewer, view=grid.view), "oob": True}
    grid.remember(context["cards"])
    grid.log = (context["activity_filter"], tuple(context["activity_cameras"]))
    return "".join(
        render_partial(name, context) for name in ("system-status", "inventory", "thresholds", "activity-log")
    )


def remember_view(*, grid: LiveGrid) -> None:
    """The screen changed its view over HTTP (which rendered it): the socket's grid learns what is shown."""
    grid.remember(selectors.camera_cards())


def update_html(viewer: Viewer, *, camera_id: int, event_id: int | None, grid: LiveGrid) -> str:
    """After one camera's frame (event_id) or threshold change (event_id None)."""
    return updates_html(viewer, updates=Updates.one(camera_id, event_id), grid=grid)


def updates_html(viewer: Viewer, *, updates: Updates, grid: LiveGrid) -> str:
    """After the frames (the newest event of each camera) and threshold changes merged into one push
    (dashboard/pushes.py).

    Each changed card is swapped in place when it stays where it is; if any card enters or leaves this
    screen's filter, changes place in its order or status, or is gone (deactivated), the grid is
    re-rendered once instead, so a screen filtered to CRITICAL never shows a camera that is not (and
    shows one the moment it becomes CRITICAL). The system status once; the filter's status counts once
    if a status changed; the threshold row of each camera whose thresholds changed; the activity log
    once, with every new event of the push highlighted.
    """
    if (html := fragments_html(updates, grid=grid)) is not None:
        return html  # every frame came with its fragments: no query, nothing rendered but the counts
    metrics.push_rendered()
    grid.status_at = time.time()
    # Parts that read every camera are shared by the newest frame; after a threshold change they
    # are rendered per screen, as a change's own parts are (rare, and the row carries a CSRF token).
    state = _shared_batch(None if updates.changed else updates.newest)
    cards = _cards(updates)
    parts = [state("system-status")(lambda: render_partial("system-status", {**status_context(), "oob": True}))]
    swapped, whole_grid, status_changed = [], False, False
    for camera_id, card in cards.items():
        change, moved = ("grid", True) if card is None else grid.after_change(card)  # None: deactivated
        whole_grid, status_changed = whole_grid or change == "grid", status_changed or moved
        if change == "card":
            swapped.append(camera_id)
    if whole_grid:
        all_cards = state("cards")(selectors.camera_cards)
        grid.remember(all_cards)
        parts.append(state("inventory", grid.view)(
            lambda: render_partial("inventory", {**inventory_context(grid.view, all_cards), "oob": True})))
    else:
        for camera_id in swapped:
            event_id = None if camera_id in updates.changed else updates.frames[camera_id]
            parts.append(_shared(camera_id, event_id, "camera-card")(
                lambda: render_partial("camera-card", {"card": cards[camera_id], "oob": True})))
            grid.card_events[cards[camera_id].slug] = cards[camera_id].last_event_id or 0
        if status_changed:  # the counts beside each status filter (this screen's own cards)
            choices = grid.view.status_choices(grid.keys.values())
            parts.append(render_partial("triage-status", {"view": grid.view, "status_choices": choices,
                                                          "oob": True}))
    for camera_id in sorted(updates.changed):
        # Only threshold changes touch the settings row, so a frame never clobbers a manager's typing.
        if (card := cards[camera_id]) is not None:
            parts.append(render_partial("threshold-row", {"card": card, "can_manage": viewer.can_manage,
                                                          "csrf_token": viewer.csrf_token, "oob": True}))
    shown = {card.slug for camera_id, card in cards.items() if card is not None and camera_id in updates.frames}
    if shown and (not grid.view.camera or grid.view.camera in shown):
        parts.append(_activity_html(updates, grid=grid))
    return "".join(parts)


def _activity_html(updates: Updates, *, grid: LiveGrid) -> str:
    """The activity log's part of a push: only its new rows, which the page puts on top, in order,
    keeping the newest ACTIVITY_LIMIT (dashboard.js). The whole log (its camera links and every row)
    only when the screen's log was rendered for another filter or other cameras: a camera was added,
    renamed or deactivated, or the screen changed its view (grid.log is None)."""
    batch = _shared_batch(updates.newest)
    cameras = batch("camera-choices")(selectors.camera_choices)
    slug = _activity_filter(grid.view, cameras)
    new = frozenset(updates.events)
    if grid.log != (slug, tuple(cameras)):
        grid.log = (slug, tuple(cameras))
        return batch("activity-log", grid.view, new)(
            lambda: render_partial("activity-log", {**activity_context(grid.view), "new_event_ids": new, "oob": True}))

    def rows() -> str:
        events = selectors.activity_log(camera_slug=slug or None, limit=ACTIVITY_LIMIT, event_ids=new)
        return render_partial("activity-new-rows", {"events": events, "activity_filter": slug, "new_event_ids": new})

    return shared_renders.get(("activity-rows", new, slug), rows)


def _cards(updates: Updates) -> dict[int, selectors.CameraCard | None]:
    """The card of every camera in the push (None: gone or deactivated), in the push's camera order.
    A frame's card is shared by its event id, like its fragments; the cards no screen built yet are
    read in one query for all of them (a query per camera was a fifth of a push's render in a profile)."""
    keys = {camera_id: None if camera_id in updates.changed else (camera_id, updates.frames[camera_id], "card")
            for camera_id in updates.cameras}
    return shared_renders.get_many(keys, lambda camera_ids: selectors.camera_cards_by_id(camera_ids=camera_ids))


# --- A stored frame's fragments (dashboard/fragments.py renders them where the frame is stored) ----


def card_fragment(card: selectors.CameraCard) -> dict[str, Any]:
    """A camera card as every screen shows it, with what a screen's grid needs to place it."""
    key = CardKey.of(card)
    return {"html": render_partial("camera-card", {"card": card, "oob": True}),
            "key": [key.slug, key.name, key.location, key.status, key.count], "event": card.last_event_id or 0}


def row_fragment(event) -> dict[str, Any]:
    """An event's activity-log row as a push sends it (new, so highlighted): with its camera column
    (the log of every camera) and without (the log filtered to its camera)."""
    slug = event.camera.slug
    row = lambda log_filter: render_partial(  # noqa: E731
        "activity-row", {"event": event, "activity_filter": log_filter, "new_event_ids": {event.pk}})
    return {"slug": slug, "all": row(""), "one": row(slug)}


def choices_digest(cameras) -> str:
    """Which camera links the activity log shows (slug, name of each active camera), in a few bytes."""
    return hashlib.blake2b(repr(tuple(tuple(pair) for pair in cameras)).encode(), digest_size=8).hexdigest()


_new_rows_wrapper: tuple[str, str] | None = None


def _new_rows(rows: list[str]) -> str:
    """The activity-new-rows partial around rows rendered already (its template rendered once)."""
    global _new_rows_wrapper
    if _new_rows_wrapper is None:
        empty = render_partial("activity-new-rows", {"events": []})
        cut = empty.rindex("\n</template>")
        _new_rows_wrapper = (empty[:cut], empty[cut:])
    return _new_rows_wrapper[0] + "".join(rows) + _new_rows_wrapper[1]


def fragments_html(updates: Updates, *, grid: LiveGrid, render: bool = True) -> str | None:
    """A frames-only push put together from the frames' fragments, without a query; None when it
    cannot be (a frame came without them, a threshold change, the log's cameras changed, a card
    enters, leaves or moves in this screen's grid): updates_html renders it as before, and `grid` is
    left as it was. `render` False (on the event loop): also None when the filter's status counts
    would need rendering."""
    if updates.changed or updates.bare or updates.status is None or grid.log is None:
        return None
    if choices_digest(grid.log[1]) != updates.log_cameras:
        return None
    keys, swapped, status_changed = dict(grid.keys), [], False
    trial = LiveGrid(view=grid.view, keys=keys, shown=grid.shown)
    for camera_id in updates.cameras:
        card = updates.cards[camera_id]
        key = CardKey(*card["key"])
        if card["event"] < grid.card_events.get(key.slug, 0):
            continue  # this screen shows a newer card already (two workers' frames out of order)
        change, moved = trial.after_change(key)
        if change == "grid":
            return None
        status_changed = status_changed or moved
        if change == "card":
            swapped.append(card)
    if status_changed and not render:
        return None
    grid.keys = keys
    parts = []
    if updates.status["at"] > grid.status_at:  # an older status than the one shown is not sent
        grid.status_at = updates.status["at"]
        parts.append(updates.status["html"])
    for card in swapped:
        parts.append(card["html"])
        grid.card_events[card["key"][0]] = card["event"]
    if status_changed:
        choices = grid.view.status_choices(grid.keys.values())
        parts.append(render_partial("triage-status", {"view": grid.view, "status_choices": choices, "oob": True}))
    shown = {card["key"][0] for card in updates.cards.values()}
    if not grid.view.camera or grid.view.camera in shown:
        slug = grid.log[0]
        rows = [updates.rows[event_id] for event_id in sorted(updates.events, reverse=True)]
        parts.append(_new_rows([row["one"] for row in rows if row["slug"] == slug] if slug
                               else [row["all"] for row in rows]))
    return "".join(parts)
