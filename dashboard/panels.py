"""What each dashboard partial needs, built the same way for the page, the HTMX endpoints and the
WebSocket consumer (which renders without a request). Synchronous: the consumer calls these through
database_sync_to_async, never on the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.triage import DashboardView, LiveGrid
from detection.serving.runtime import ModelUnavailable, serving
from detection.stock import selectors

PAGE = "dashboard/index.html"
ACTIVITY_LIMIT = 20


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
    card = selectors.camera_card(camera_id=camera_id)
    parts = [render_partial("system-status", {**status_context(), "oob": True})]
    change, status_changed = ("grid", True) if card is None else grid.after_change(card)  # None: deactivated
    if change == "grid":
        cards = selectors.camera_cards()
        grid.remember(cards)
        parts.append(render_partial("inventory", {**inventory_context(grid.view, cards), "oob": True}))
    else:
        if change == "card":
            parts.append(render_partial("camera-card", {"card": card, "oob": True}))
        if status_changed:  # the counts beside each status filter
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
        context = {**activity_context(grid.view), "new_event_id": event_id, "oob": True}
        parts.append(render_partial("activity-log", context))
    return "".join(parts)
