"""What each dashboard partial needs, built the same way for the page, the HTMX endpoints and the
WebSocket consumer (which renders without a request). Synchronous: the consumer calls these through
database_sync_to_async, never on the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

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


def activity_context(camera_slug: str | None) -> dict[str, Any]:
    slug = camera_slug if camera_slug and selectors.camera_by_slug(camera_slug) else ""
    return {
        "events": selectors.activity_log(camera_slug=slug or None, limit=ACTIVITY_LIMIT),
        "activity_filter": slug,
        "activity_cameras": selectors.camera_choices(),
    }


def page_context(viewer: Viewer, *, camera_slug: str | None = None) -> dict[str, Any]:
    cards = selectors.camera_cards()
    return {
        "cards": cards,
        "can_manage": viewer.can_manage,
        "csrf_token": viewer.csrf_token,
        "ingest_max_bytes": settings.INGEST_MAX_BYTES,
        "now": timezone.now(),
        **status_context(cards),
        **activity_context(camera_slug),
    }


def render_partial(name: str, context: dict[str, Any], request=None) -> str:
    return render_to_string(f"{PAGE}#{name}", context, request=request)


# --- WebSocket payloads: top-level elements with ids, each swapped out-of-band -----------------


def snapshot_html(viewer: Viewer, *, camera_slug: str | None) -> str:
    """Everything, for a fresh or re-established connection: whatever it missed is replaced."""
    context = {**page_context(viewer, camera_slug=camera_slug), "oob": True}
    return "".join(
        render_partial(name, context) for name in ("system-status", "inventory", "thresholds", "activity-log")
    )


def update_html(viewer: Viewer, *, camera_id: int, event_id: int | None, camera_slug: str | None) -> str:
    """After one camera's frame (event_id) or threshold change (event_id None)."""
    card = selectors.camera_card(camera_id=camera_id)
    parts = [render_partial("system-status", {**status_context(), "oob": True})]
    if card is None:  # deactivated meanwhile: re-send the grid so its card disappears
        parts.append(render_partial("inventory", {"cards": selectors.camera_cards(), "oob": True}))
        return "".join(parts)
    parts.append(render_partial("camera-card", {"card": card, "oob": True}))
    if event_id is None:
        # Only threshold changes touch the settings row, so a frame never clobbers a manager's typing.
        parts.append(render_partial("threshold-row", {"card": card, "can_manage": viewer.can_manage,
                                                      "csrf_token": viewer.csrf_token, "oob": True}))
    elif not camera_slug or camera_slug == card.slug:
        context = {**activity_context(camera_slug), "new_event_id": event_id, "oob": True}
        parts.append(render_partial("activity-log", context))
    return "".join(parts)
