"""The alert log as an inbox for the people on shift: every alert with its date and time in the site
zone, what it said (or would have said: no channel configured), "I'm on it" (who, when, a note), a
link to the camera, and "send a test" per channel for those who manage alerting."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from detection.alerts import selectors as alert_selectors
from detection.alerts.messages import StockAlert
from detection.alerts.models import AlertDelivery, AlertWebhook
from detection.alerts.outbox import alert_acknowledge, alert_channel_test, alert_channels
from detection.stock.selectors import camera_choices

VIEW = "detection.view_alertdelivery"  # every dashboard role: the people on shift
TESTERS = ("detection.change_stockstate", "detection.change_alertwebhook")  # managers, alert admins
LIMIT = 100


def may_test(user) -> bool:
    return any(user.has_perm(perm) for perm in TESTERS)


def _rows(camera_slug: str, open_only: bool) -> list[AlertDelivery]:
    rows = alert_selectors.alert_log(camera_slug=camera_slug or None, open_only=open_only, limit=LIMIT)
    for row in rows:
        alert = StockAlert.from_dict(row.message)
        row.subject, row.body = alert.subject(), alert.body()
    return rows


def _back(request: HttpRequest, anchor: str = "") -> HttpResponse:
    query = {key: request.POST[key] for key in ("camera", "show") if request.POST.get(key)}
    url = reverse("dashboard:alerts") + (f"?{urlencode(query)}" if query else "")
    return redirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def alert_log(request: HttpRequest) -> HttpResponse:
    camera = request.GET.get("camera") or ""
    show = "open" if request.GET.get("show") == "open" else ""
    channels = alert_channels()
    return render(request, "dashboard/alerts.html", {
        "alerts": _rows(camera, show == "open"), "camera": camera, "show": show, "cameras": camera_choices(),
        "channels": channels, "can_test": may_test(request.user),
    })


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def alert_ack(request: HttpRequest, alert_id: int) -> HttpResponse:
    """"I'm on it": one tap marks the alert (all its channels' rows) with who and when."""
    alert = AlertDelivery.objects.filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert.")
    if not alert_acknowledge(alert=alert, user=request.user, note=request.POST.get("note", "")):
        messages.info(request, "Someone acknowledged this alert already.")
    return _back(request, anchor=f"alert-{alert_id}")


@login_required
@require_POST
def alert_test(request: HttpRequest) -> HttpResponse:
    """Send a test alert by one configured channel now and say whether it went out."""
    if not may_test(request.user):
        raise PermissionDenied("Sending test alerts needs the manager role.")
    channel = request.POST.get("channel", "")
    webhook = None
    if channel == AlertDelivery.Channel.WEBHOOK:
        raw_id = request.POST.get("webhook", "")
        # A non-number id (a hand-made or fuzzed form) is "no such webhook", not a 500 from the query.
        webhook_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18 else 0
        webhook = AlertWebhook.objects.filter(pk=webhook_id, is_active=True).first() if webhook_id else None
        if webhook is None:
            raise Http404("No such active webhook.")
    labels = dict(AlertDelivery.Channel.choices)
    label = webhook.name if webhook else labels.get(channel, "that channel")
    problem = alert_channel_test(channel=channel, webhook=webhook, sent_by=request.user.get_username())
    if problem:
        messages.error(request, f"Test alert by {label} failed: {problem}.")
    else:
        messages.success(request, f"Test alert sent by {label}.")
    return _back(request, anchor="alert-channels")
