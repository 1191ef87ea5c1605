"""The camera page's "Pull source" panel (managers): where the server fetches this camera's frames,
a "Test connection" button that shows the frame it got (or why not) before saving, and "Stop pulling".

Thin: parsing, address checks, encryption and the fetch are detection.pull.services'.
"""

from __future__ import annotations

import base64
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.views import _viewer, active_camera_or_404, may_view
from detection.pull.fetch import PullFailed, looks_like_image
from detection.pull.models import PullAuth, PullSource
from detection.pull.secrets import CredentialsUnreadable
from detection.pull.services import (
    pull_source_remove,
    pull_source_save,
    pull_source_test,
    pull_target_from_form,
)

PARTIAL = "dashboard/camera.html#pull-source"


class PullSourceForm(forms.Form):
    url = forms.CharField(label="Snapshot or stream URL", max_length=500,
                          help_text="http(s)://… for a snapshot, rtsp://… for a stream.")
    auth = forms.ChoiceField(label="Authentication", choices=PullAuth.choices, initial=PullAuth.DIGEST, required=False)
    username = forms.CharField(label="User name", max_length=150, required=False)
    password = forms.CharField(label="Password", required=False, widget=forms.PasswordInput(render_value=False),
                               help_text="Stored encrypted, never shown again; leave blank to keep the saved one.")
    interval_s = forms.IntegerField(label="Every (s)", min_value=1, max_value=3600, initial=10)
    timeout_s = forms.IntegerField(label="Timeout (s)", min_value=1, max_value=20, initial=5)
    tls_verify = forms.BooleanField(label="Check the HTTPS certificate", required=False, initial=True)


def source_context(camera, *, form: PullSourceForm | None = None, **extra: Any) -> dict[str, Any]:
    source = PullSource.objects.filter(camera=camera).first()
    if form is None:
        initial = {"url": source.url, "auth": source.auth, "username": source.username,
                   "interval_s": source.interval_s, "timeout_s": source.timeout_s,
                   "tls_verify": source.tls_verify} if source else None
        form = PullSourceForm(initial=initial)
    return {"source": source, "source_form": form, "source_camera": camera, **extra}


@login_required
@may_view
@require_POST
def camera_source(request: HttpRequest, slug: str) -> HttpResponse:
    """Managers: action=test (fetch once, store nothing), save, or remove (back to push)."""
    camera = active_camera_or_404(slug)
    if not _viewer(request).can_manage:
        raise PermissionDenied("Changing a camera's source needs the 'change stock state' permission.")
    action = request.POST.get("action", "save")
    if action == "remove":
        pull_source_remove(camera=camera)
        return _answer(request, slug, source_context(camera, message="Stopped pulling; the camera may post again."))
    form = PullSourceForm(request.POST)
    if not form.is_valid():
        return _answer(request, slug, source_context(camera, form=form), status=422)
    data = form.cleaned_data
    try:
        if action == "test":
            return _answer(request, slug, _test(camera, form, data))
        pull_source_save(camera=camera, url=data["url"], auth=data["auth"] or None, username=data["username"],
                         password=data["password"] or None, interval_s=data["interval_s"],
                         timeout_s=data["timeout_s"], tls_verify=data["tls_verify"])
    except ValidationError as exc:
        form.add_error("url", exc)
        return _answer(request, slug, source_context(camera, form=form), status=422)
    return _answer(request, slug, source_context(camera, message="Saved; the puller fetches a frame within seconds."))


def _test(camera, form: PullSourceForm, data: dict) -> dict[str, Any]:
    target = pull_target_from_form(camera=camera, url=data["url"], auth=data["auth"], username=data["username"],
                                   password=data["password"], timeout_s=data["timeout_s"],
                                   tls_verify=data["tls_verify"])
    try:
        frame = pull_source_test(target=target)
    except (PullFailed, CredentialsUnreadable) as exc:
        return source_context(camera, form=form, test_error=str(exc))
    kind = "png" if frame.startswith(b"\x89PNG") else "webp" if frame[:4] == b"RIFF" else "jpeg"
    assert looks_like_image(frame)
    image = f"data:image/{kind};base64,{base64.b64encode(frame).decode()}"
    return source_context(camera, form=form, test_image=image, test_bytes=len(frame))


def _answer(request: HttpRequest, slug: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context = {**context, "can_manage": True}  # only managers get here
    if request.htmx:
        return render(request, PARTIAL, context, status=status)
    if status == 200 and "test_image" not in context and "test_error" not in context:
        return redirect(reverse("dashboard:camera", args=[slug]) + "#pull-source")
    from dashboard.camera import PAGE, _context_or_404

    return render(request, PAGE, {**_context_or_404(request, slug), **context}, status=status)
