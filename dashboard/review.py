"""'Count is wrong': the camera page's per-event button, its small form, and the review frames'
images for the admin. Thin: the copy, checks and cap live in detection.review."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from dashboard.camera import frame_view
from dashboard.views import active_camera_or_404
from detection.models import DetectionEvent, ReviewFrame
from detection.review.services import MAX_CORRECT_COUNT, NOTE_MAX, review_flag
from detection.stock.frames import content_type

FLAG = "detection.flag_count"  # Operators and Managers
TEMPLATE = "dashboard/review_flag.html"


class FlagForm(forms.Form):
    correct_count = forms.IntegerField(label="Right count", min_value=0, max_value=MAX_CORRECT_COUNT)
    note = forms.CharField(label="Note (optional)", required=False, max_length=NOTE_MAX)


def _event_or_404(slug: str, event_id: int) -> tuple[object, DetectionEvent]:
    camera = active_camera_or_404(slug)
    event = DetectionEvent.objects.select_related("camera").filter(pk=event_id).first()
    if event is None:
        raise Http404("That event is no longer kept (only the last ones are).")
    return camera, event


@login_required
@permission_required(FLAG, raise_exception=True)
@require_http_methods(["GET", "POST"])
def event_flag(request: HttpRequest, slug: str, event_id: int) -> HttpResponse:
    """GET: the form (a dialog for htmx, a page otherwise). POST: keep the frame for review."""
    camera, event = _event_or_404(slug, event_id)
    context = {"camera": camera, "event": event, "slug": slug, "frame": frame_view(event)}
    if request.method == "GET":
        context["form"] = FlagForm(initial={"correct_count": event.raw_count})
        return render(request, f"{TEMPLATE}#flag-dialog" if request.htmx else TEMPLATE, context)
    form = FlagForm(request.POST)
    if form.is_valid():
        try:
            context["frame"] = review_flag(event=event, camera=camera, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, messages in errors.items():
                form.add_error(field if field in form.fields else None, messages)
    context["form"] = form
    if not form.is_valid():
        return render(request, f"{TEMPLATE}#flag-dialog" if request.htmx else TEMPLATE, context, status=422)
    if not request.htmx:
        return redirect(reverse("dashboard:camera", args=[slug]) + f"?event={event.pk}&flagged=1")
    return render(request, f"{TEMPLATE}#flag-done", context)


@login_required
@permission_required("detection.view_reviewframe", raise_exception=True)
@require_GET
def review_image(request: HttpRequest, frame_id: int) -> HttpResponse:
    """A review frame's image (admin thumbnails), read through the storage API; never a public URL."""
    frame = get_object_or_404(ReviewFrame, pk=frame_id)
    try:
        with frame.image.storage.open(frame.image.name, "rb") as fh:
            data = fh.read()
    except Exception:  # missing locally, or gone from the bucket
        raise Http404("The review frame's file is gone.") from None
    response = HttpResponse(data, content_type=content_type(frame.image.name))
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response
