"""The camera page: the latest frame with its boxes, the kept events (click one to see its frame),
their count and status history, the thresholds, and the counting-zone editor for managers.

Thin: reads come from detection.stock.selectors, changes go through detection.stock.services, stored
frames through detection.stock.frames. The page view, the HTMX endpoints and the camera's WebSocket
(dashboard/camera_consumer.py) render the same partials from camera_context().
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from dashboard import panels
from dashboard.sources import source_context
from dashboard.templatetags.dashboard_ui import status_class
from dashboard.views import _viewer, active_camera_or_404, may_view
from detection.models import DetectionEvent
from detection.rest import json_loads
from detection.stock import selectors
from detection.stock.frames import content_type, frame_open
from detection.stock.services import stock_zones_update

PAGE = "dashboard/camera.html"
SCALE = 1000  # the SVG overlays draw in 0..1000 (viewBox), stretched over the frame
LIVE_PARTIALS = ("camera-summary", "camera-latest", "camera-events")


@dataclass(frozen=True)
class FrameView:
    """One kept frame as drawn: its image URL and its boxes in overlay units."""

    event: DetectionEvent
    image_url: str
    boxes: list[dict[str, Any]]

    @property
    def counted(self) -> int:
        return sum(box["counted"] for box in self.boxes)

    @property
    def outside(self) -> int:
        return len(self.boxes) - self.counted


def frame_view(event: DetectionEvent) -> FrameView:
    url = reverse("dashboard:event-image", args=[event.camera.slug, event.pk]) if event.image else ""
    boxes = []
    for box in event.boxes or []:
        x1, y1, x2, y2, score = (float(value) for value in box[:5])
        counted = bool(box[5]) if len(box) > 5 else True
        boxes.append({"x": round(x1 * SCALE, 1), "y": round(y1 * SCALE, 1), "w": round((x2 - x1) * SCALE, 1),
                      "h": round((y2 - y1) * SCALE, 1), "score": round(score, 2), "counted": counted})
    return FrameView(event=event, image_url=url, boxes=boxes)


def zone_points(zones: list) -> list[str]:
    """SVG polygon `points` per zone, in overlay units."""
    return [" ".join(f"{x * SCALE:.1f},{y * SCALE:.1f}" for x, y in zone) for zone in zones]


def history_bars(events: list[DetectionEvent], target: int) -> dict[str, Any]:
    """The kept events' counts as bars (oldest left), coloured by the status recorded with each."""
    ordered = list(reversed(events))
    top = max([target, 1, *(event.raw_count for event in ordered)])
    width = 12
    bars = []
    for index, event in enumerate(ordered):
        height = 0 if event.fault else round(96 * event.raw_count / top, 1)
        bars.append({"x": index * width + 1, "y": round(100 - height, 1), "height": max(height, 1), "width": width - 2,
                     "colour": status_class(event.status, "line") if event.status != "FAULT" else "#7f1d1d",
                     "title": f"{event.created_at:%H:%M:%S} {'-' if event.fault else event.raw_count} {event.status}"})
    return {"bars": bars, "width": max(len(ordered) * width, width), "target_y": round(100 - 96 * target / top, 1)}


def camera_context(camera_id: int, viewer: panels.Viewer, *, selected_id: int | None = None, user=None,
                   ) -> dict[str, Any] | None:
    """Everything the page's partials need, or None when the camera is gone or inactive."""
    found = selectors.camera_page_data(camera_id=camera_id)
    if found is None:
        return None
    card, events, zones = found
    for event in events:
        event.camera = card.camera  # the image URLs need the slug; no query per row
    selected = next((event for event in events if event.pk == selected_id), None) if selected_id else None
    context = {
        "card": card, "events": events, "zones": zones, "zone_points": zone_points(zones),
        "zones_json": json.dumps(zones), "latest": frame_view(events[0]) if events else None,
        "selected": frame_view(selected) if selected else None, "selected_id": selected_id,
        "history": history_bars(events, card.target_capacity), "can_manage": viewer.can_manage,
        "csrf_token": viewer.csrf_token,
    }
    if user is not None:
        context["perms"] = PermWrapper(user)  # the event actions ask for permissions, even over the socket
    return context


def render_live(context: dict[str, Any], *, thresholds: bool) -> str:
    """The live partials, out-of-band (after a frame; with the threshold row after a manager's change)."""
    context = {**context, "oob": True}
    _event_rows(context)
    parts = [render_to_string(f"{PAGE}#{name}", context) for name in LIVE_PARTIALS]
    if thresholds:
        parts.append(render_to_string(f"{panels.PAGE}#threshold-row", context))
    return "".join(parts)


def _event_rows(context: dict[str, Any]) -> None:
    """Each event row of a push, rendered once and reused by the next pushes (a frame adds one row
    and drops the oldest; the other 19 do not change) and by every page of the camera whose viewer
    may do the same (only "Count is wrong" depends on the viewer). Rendering the 20 rows anew was
    most of a camera page's push (issue 18's profile)."""
    perms = context.get("perms")
    may_flag = perms is not None and "detection.flag_count" in perms
    for index, event in enumerate(context["events"]):
        row = {"event": event, "card": context["card"], "perms": perms, "oob": True, "forloop": {"first": index == 0}}
        event.row_html = panels.shared_renders.get(
            ("camera-row", event.pk, index == 0, may_flag),
            lambda row=row: mark_safe(render_to_string(f"{PAGE}#camera-event-row", row)))


def _context_or_404(request: HttpRequest, slug: str, *, selected_id: int | None = None) -> dict[str, Any]:
    camera = selectors.camera_by_slug(slug)
    viewer = _viewer(request)
    context = camera_context(camera.pk, viewer, selected_id=selected_id, user=request.user) if camera else None
    if context is None:
        raise Http404("No such active camera.")
    return context


def _event_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
@may_view
@require_GET
def camera_page(request: HttpRequest, slug: str) -> HttpResponse:
    context = _context_or_404(request, slug, selected_id=_event_id(request.GET.get("event")))
    return render(request, PAGE, {**context, **source_context(context["card"].camera)})


@login_required
@may_view
@require_GET
def camera_event(request: HttpRequest, slug: str, event_id: int) -> HttpResponse:
    """One kept event's frame: the partial for htmx, else the page with it selected."""
    context = _context_or_404(request, slug, selected_id=event_id)
    if not request.htmx:
        return render(request, PAGE, context)
    return render(request, f"{PAGE}#camera-selected", context, status=200 if context["selected"] else 404)


@login_required
@may_view
@require_GET
def event_image(request: HttpRequest, slug: str, event_id: int) -> HttpResponse:
    """A kept frame, read through the storage API (local files or S3); never a public media URL."""
    camera = selectors.camera_by_slug(slug)
    event = selectors.camera_event(camera_id=camera.pk, event_id=event_id) if camera else None
    if event is None or not event.image:
        raise Http404("No frame is kept for this event.")
    try:
        with frame_open(event.image.name) as fh:
            data = fh.read()  # at most FRAME_STORE_MAX_BYTES
    except FileNotFoundError:
        raise Http404("The frame's file is gone.") from None
    response = HttpResponse(data, content_type=content_type(event.image.name))
    # A frame never changes under its name; private: only this logged-in browser may keep it.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@login_required
@may_view
@require_POST
def camera_zones(request: HttpRequest, slug: str) -> HttpResponse:
    """Managers: save the counting zones (JSON in the `zones` field) and count again at once."""
    camera = active_camera_or_404(slug)
    viewer = _viewer(request)
    if not viewer.can_manage:
        raise PermissionDenied("Changing counting zones needs the 'change stock state' permission.")
    raw = request.POST.get("zones", "").strip() or "[]"
    errors: list[str] = []
    try:
        stock_zones_update(camera=camera, zones=json_loads(raw))
    except ValueError as exc:
        errors = [f"The zones are not valid JSON ({exc})."]
    except ValidationError as exc:
        errors = exc.message_dict.get("zones", exc.messages)
    if not errors and not request.htmx:
        return redirect(reverse("dashboard:camera", args=[slug]) + "#zones")
    context = _context_or_404(request, slug)
    context.update(zone_errors=errors, zones_draft=raw if errors else context["zones_json"], saved=not errors)
    if not request.htmx:
        return render(request, PAGE, context, status=422)
    html = render_to_string(f"{PAGE}#zone-editor", context, request=request)
    if errors:
        return HttpResponse(html, status=422)
    # The new count, greyed boxes and status at once, even before the socket's push arrives.
    return HttpResponse(html + render_live(context, thresholds=False))
