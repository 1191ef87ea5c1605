"""Phones as cameras: a manager gets a QR code holding a one-time pairing link; the phone that opens
it gets its own device key and a capture page that posts frames through the ordinary camera API.

- "Add a phone camera" (dashboard, managers) makes a camera and its link; "Pair a phone" (camera
  page) a new link for an existing camera. The QR code is drawn here (segno, pure Python).
- /pair/<token>/: GET only shows what will happen (link previewers and scanners that fetch URLs
  must not use up the link); the phone's button POSTs, and only then is the link used.
- /capture/: the page itself holds no secret; the key lives in the phone's localStorage.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.views import _viewer, active_camera_or_404, may_view
from devices.services import PairingRefused, pairing_link_create, pairing_link_find, pairing_link_redeem, phone_camera_create

PAIRING_PAGE = "dashboard/phone_pairing.html"
PAIR_PAGE = "dashboard/pair.html"
CAPTURE_PAGE = "dashboard/capture.html"


def _manager_only(request: HttpRequest) -> None:
    if not _viewer(request).can_manage:
        raise PermissionDenied("Adding a phone camera needs the 'change stock state' permission.")


def _pairing_page(request: HttpRequest, camera, link, token: str) -> HttpResponse:
    import segno  # here, not at start-up: 1.2 MB of every worker for a page managers open now and then

    url = request.build_absolute_uri(reverse("dashboard:pair", args=[token]))
    qr = segno.make(url, error="m")
    response = render(request, PAIRING_PAGE, {
        "camera": camera, "link": link, "pair_url": url, "ttl_minutes": round(settings.PAIRING_LINK_TTL_S / 60),
        "qr_svg": qr.svg_inline(scale=6, border=2, dark="#000", light="#fff", title="Pairing link"),
        "insecure": not request.is_secure() and request.get_host().split(":")[0] not in ("localhost", "127.0.0.1"),
    })
    response["Cache-Control"] = "no-store"  # the link is a secret until used
    return response


@login_required
@may_view
@require_POST
def phone_add(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    try:
        camera, link, token = phone_camera_create(name=request.POST.get("name", "").strip() or "Phone camera",
                                                  location=request.POST.get("location", "").strip())
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=422)
    return _pairing_page(request, camera, link, token)


@login_required
@may_view
@require_POST
def phone_pair(request: HttpRequest, slug: str) -> HttpResponse:
    _manager_only(request)
    camera = active_camera_or_404(slug)
    link, token = pairing_link_create(camera=camera)
    return _pairing_page(request, camera, link, token)


@never_cache
@require_http_methods(["GET", "POST"])
def pair(request: HttpRequest, token: str) -> HttpResponse:
    """The phone's side of the QR code. No login: the link itself is the permission, once."""
    try:
        if request.method == "GET":
            link = pairing_link_find(token)
            return render(request, PAIR_PAGE, {"camera": link.camera, "token": token})
        camera, raw_key = pairing_link_redeem(token=token)
    except PairingRefused as exc:
        return render(request, PAIR_PAGE, {"refused": str(exc)}, status=410)
    return render(request, CAPTURE_PAGE, {"camera": camera, "device_key": raw_key, **_capture_settings()})


@never_cache
@require_GET
def capture(request: HttpRequest) -> HttpResponse:
    """The capture page after pairing (reloads, home-screen shortcut): the key comes from localStorage."""
    return render(request, CAPTURE_PAGE, _capture_settings())


def _capture_settings() -> dict:
    # Every 10 s by default (the page's ?every=N changes it, at least 2 s: well under the rate limit).
    return {"interval_s": 10, "max_side": 1920, "frames_url": reverse("api-frames")}
