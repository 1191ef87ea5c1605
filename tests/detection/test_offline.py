"""Cameras that go quiet: one OFFLINE alert per outage, one back-online alert, dashboards told."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from detection.alerts import flush_alerts
from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record
from detection.models import StockState
from detection.stock.offline import cameras_check_offline
from devices.models import Camera
from devices.services import camera_mark_seen


@pytest.fixture
def alerts_by_mail(settings, mailoutbox):
    settings.ALERT_EMAILS = ["night-shift@example.com"]
    return mailoutbox


def frame(camera, count: int = 8) -> None:
    boxes = [Detection(i, i, i + 9, i + 9, 0.9, 0) for i in range(count)]
    frame_record(camera=camera, result=DetectionResult(boxes, 640, 480, 5.0))


def went_quiet(camera: Camera, seconds: int) -> None:
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now() - timedelta(seconds=seconds))


def subjects(outbox) -> list[str]:
    flush_alerts()
    return [message.subject for message in outbox]


@pytest.mark.django_db
def test_a_quiet_camera_alerts_once_then_once_more_when_it_is_back(alerts_by_mail, camera_with_key):
    camera, _ = camera_with_key()
    frame(camera)
    went_quiet(camera, camera.offline_timeout_s + 5)

    assert [a.status for a in cameras_check_offline()] == ["OFFLINE"]
    assert cameras_check_offline() == []  # the same outage does not page twice
    assert subjects(alerts_by_mail) == ["[Inventory] Dock 1: camera OFFLINE"]
    assert "stale" in alerts_by_mail[0].body

    camera_mark_seen(camera=camera)  # a heartbeat (or a frame) arrives
    assert [(a.previous_status, a.status) for a in cameras_check_offline()] == [("OFFLINE", "WARNING")]
    assert subjects(alerts_by_mail)[-1] == "[Inventory] Dock 1: camera back online (WARNING)"
    assert StockState.objects.get(camera=camera).offline_alerted_at is None


@pytest.mark.django_db
def test_cameras_that_never_reported_or_are_inactive_do_not_alert(alerts_by_mail, camera_with_key):
    camera_with_key("never-seen")
    retired, _ = camera_with_key("retired")
    frame(retired)
    went_quiet(retired, 10_000)
    Camera.objects.filter(pk=retired.pk).update(is_active=False)
    fresh, _ = camera_with_key("fresh")
    frame(fresh)
    assert cameras_check_offline() == []
    assert subjects(alerts_by_mail) == []


@pytest.mark.django_db
def test_the_offline_transition_reaches_the_dashboard(camera_with_key, monkeypatch):
    sent = []
    monkeypatch.setattr("dashboard.broadcasts.stock_updated", lambda **kw: sent.append(kw))
    camera, _ = camera_with_key()
    frame(camera)
    sent.clear()
    went_quiet(camera, 10_000)
    cameras_check_offline()
    assert sent == [{"camera_id": camera.pk, "event_id": None}]


@pytest.mark.django_db
def test_check_cameras_command_reports_what_it_sent(alerts_by_mail, camera_with_key):
    camera, _ = camera_with_key()
    frame(camera)
    went_quiet(camera, 10_000)
    out = io.StringIO()
    call_command("check_cameras", stdout=out)
    assert out.getvalue().splitlines() == ["dock-1: WARNING -> OFFLINE", "1 alert(s) sent."]
    assert len(alerts_by_mail) == 1
