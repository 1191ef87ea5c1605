"""Dashboard pages and their HTMX partials. Thin: data comes from detection.stock.selectors
(via dashboard.panels), changes go through detection.stock.services."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import panels
from dashboard.forms import ThresholdsForm
from dashboard.triage import DashboardView
from detection.stock import selectors
from detection.stock.services import stock_thresholds_update

VIEW = "detection.view_stockstate"  # Operators, Managers and Auditors have it; a user in no group does not
MANAGE = "detection.change_stockstate"
INSPECT = "detection.inspect_frames"

# Logged in is not enough: an account in no group (e.g. made for the admin, or left over) sees nothing.
may_view = permission_required(VIEW, raise_exception=True)


def active_camera_or_404(slug: str):
    """The active camera the URL names (the camera pages' actions), else 404."""
    camera = selectors.camera_by_slug(slug)
    if camera is None:
        raise Http404("No such active camera.")
    return camera


def _viewer(request: HttpRequest) -> panels.Viewer:
    return panels.Viewer.of(request.user, csrf_token=get_token(request))


def _view(request: HttpRequest) -> DashboardView:
    return DashboardView.from_query(request.GET)


def _page(request: HttpRequest, *, status: int = 200, **overrides) -> HttpResponse:
    context = panels.page_context(_viewer(request), view=_view(request))
    context.update(overrides)
    return render(request, panels.PAGE, context, status=status)


@login_required
@may_view
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@may_view
@require_GET
def status_partial(request: HttpRequest) -> HttpResponse:
    return render(request, f"{panels.PAGE}#system-status", panels.status_context())


def _view_changed(request: HttpRequest, view: DashboardView, first: str) -> HttpResponse:
    """A filter, search, sort or activity camera was chosen with htmx: the grid and the log both
    come back (their links carry the whole view), the `first` one as the target, the other
    out-of-band, and the address bar shows the view, so the screen can be bookmarked or reloaded."""
    inventory = panels.render_partial("inventory", {**panels.inventory_context(view), "oob": first != "inventory"},
                                      request)
    activity = panels.render_partial("activity-log", {**panels.activity_context(view),
                                                      "oob": first != "activity-log"}, request)
    response = HttpResponse(inventory + activity if first == "inventory" else activity + inventory)
    url = reverse("dashboard:index") + (f"?{view.query()}" if view.query() else "")
    current = urlsplit(request.htmx.current_url or "")
    if f"{current.path}{'?' if current.query else ''}{current.query}" != url:
        response["HX-Push-Url"] = url
    response["Vary"] = "HX-Request"
    return response


@login_required
@may_view
@require_GET
def inventory_partial(request: HttpRequest) -> HttpResponse:
    view = _view(request)
    if request.htmx and request.htmx.trigger != "inventory":
        return _view_changed(request, view, "inventory")
    # Polled every 30 s (trigger "inventory"), so OFFLINE appears even when no camera sends anything.
    return render(request, f"{panels.PAGE}#inventory", panels.inventory_context(view))


@login_required
@may_view
@require_GET
def activity_partial(request: HttpRequest) -> HttpResponse:
    view = _view(request)
    if request.htmx:
        return _view_changed(request, view, "activity-log")
    return render(request, f"{panels.PAGE}#activity-log", panels.activity_context(view))


def _card_or_404(slug: str) -> selectors.CameraCard:
    camera = selectors.camera_by_slug(slug)
    card = selectors.camera_card(camera_id=camera.pk) if camera else None
    if card is None:
        raise Http404("No such active camera.")
    return card


@login_required
@may_view
@require_http_methods(["GET", "POST"])
def thresholds(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: one camera's settings row. POST (managers only): validate, save, re-evaluate, broadcast."""
    card = _card_or_404(slug)
    viewer = _viewer(request)
    context = {"card": card, "can_manage": viewer.can_manage, "csrf_token": viewer.csrf_token}
    if request.method == "GET":
        return render(request, f"{panels.PAGE}#threshold-row", context)
    if not viewer.can_manage:
        raise PermissionDenied("Changing thresholds needs the 'change stock state' permission.")
    form = ThresholdsForm(request.POST)
    if form.is_valid():
        try:
            stock_thresholds_update(camera=card.camera, **form.cleaned_data)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
    if not form.is_valid():
        context["form"] = form
        if request.htmx:
            # 422 so scripts see a failure; htmx is configured (base.html) to swap it in anyway.
            return render(request, f"{panels.PAGE}#threshold-row", context, status=422)
        return _page(request, status=422, invalid_form=form, invalid_slug=slug)
    if not request.htmx:
        return redirect(reverse("dashboard:index") + f"#thresholds-{slug}")
    context["card"] = _card_or_404(slug)
    context["saved"] = True
    return render(request, f"{panels.PAGE}#threshold-row", context)


@login_required
@permission_required(INSPECT, raise_exception=True)
@require_GET
def inspector(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/inspector.html",
        {"model": panels.model_info(), "ingest_max_bytes": settings.INGEST_MAX_BYTES,
         "ingest_max_pixels": settings.INGEST_MAX_PIXELS},
    )
