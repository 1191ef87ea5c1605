"""Alerts name the state the camera is in, as the dashboard shows it: every transition between
WAITING, CRITICAL, WARNING, FULL, FAULT and OFFLINE, and the two paths that used to lie (a FAULT
camera past its offline timeout, an OFFLINE camera coming back dark)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from detection.alerts import StockAlert
from detection.alerts.models import AlertDelivery
from detection.detector import Detection, DetectionResult, ImageHealth
from detection.ingest.services import frame_record
from detection.stock.offline import cameras_check_offline
from devices.models import Camera
from devices.services import camera_mark_seen

STATUSES = ["WAITING", "CRITICAL", "WARNING", "FULL", "FAULT", "OFFLINE"]
DARK = "Image too dark"


def alert(previous: str, status: str) -> StockAlert:
    reason = "Image too dark (brightness 3 of 255)" if "FAULT" in (previous, status) else ""
    return StockAlert(camera_slug="dock-1", camera_name="Dock 1", location="Bay 4", previous_status=previous,
                      status=status, smoothed_count=2, critical_level=3, target_capacity=15, reason=reason)


@pytest.mark.parametrize(("previous", "status"), [p for p in itertools.permutations(STATUSES, 2)])
def test_every_transition_says_where_the_camera_is_now(previous, status):
    message = alert(previous, status)
    subject, body = message.subject(), message.body()
    # The subject names the state now (CRITICAL's subject says how many are left instead of the word
    # when it is a stock-out; "working again" and "recovered" name the status they reached).
    assert status in subject or (status == "CRITICAL" and "CRITICAL" in subject)
    assert f"changed from {previous} to {status}." in body
    if status != "FAULT" and previous != "FAULT":
        assert "cannot be counted" not in body and "counted again" not in body
    if status == "OFFLINE":
        assert "counted again" not in body  # a camera that went dark and then silent is not "working"
    if previous == "OFFLINE":
        assert "back online" in subject
    assert "Camera page: /cameras/dock-1/" in body


def test_the_camera_link_is_absolute_with_site_url(settings):
    settings.SITE_URL = "https://stock.example.com/"
    assert "Camera page: https://stock.example.com/cameras/dock-1/" in alert("FULL", "CRITICAL").body()


def health(brightness: float = 120.0, fingerprint: str = "") -> ImageHealth:
    fingerprint = fingerprint or timezone.now().isoformat()  # a live sensor: never the same twice
    return ImageHealth(brightness=brightness, contrast=40.0, width=1280, height=720, fingerprint=fingerprint)


def frame(camera: Camera, count: int = 8, dark: bool = False) -> None:
    boxes = [Detection(i, i, i + 9, i + 9, 0.9, 0) for i in range(count)]
    result = DetectionResult(boxes, 640, 480, 5.0)
    result.health = health(brightness=2.0 if dark else 120.0)
    frame_record(camera=camera, result=result)


def went_quiet(camera: Camera) -> None:
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now() - timedelta(seconds=10_000))


def changes(camera: Camera) -> list[tuple[str, str, str]]:
    return [(row.previous_status, row.status, row.message.get("reason", "")[:len(DARK)])
            for row in AlertDelivery.objects.filter(camera=camera).order_by("id")]


@pytest.mark.django_db
def test_a_fault_camera_that_goes_quiet_and_sends_another_dark_frame_is_back_online_in_fault(camera_with_key):
    camera, _ = camera_with_key()
    frame(camera)  # 8: WARNING
    frame(camera, dark=True)
    went_quiet(camera)
    cameras_check_offline()
    frame(camera, dark=True)  # still dark when it comes back
    cameras_check_offline()  # the checker must not announce it a second time

    assert changes(camera) == [("WARNING", "FAULT", DARK), ("FAULT", "OFFLINE", DARK), ("OFFLINE", "FAULT", DARK)]
    back = AlertDelivery.objects.filter(camera=camera).order_by("id").last()
    message = StockAlert.from_dict(back.message)
    assert message.subject() == f"[Inventory] Dock 1: camera back online, but FAULT ({message.reason})"
    assert "CRITICAL" not in message.subject()


@pytest.mark.django_db
def test_an_offline_camera_that_comes_back_dark_is_reported_from_offline(camera_with_key):
    camera, _ = camera_with_key()
    frame(camera)  # WARNING, no fault
    went_quiet(camera)
    cameras_check_offline()
    frame(camera, dark=True)
    cameras_check_offline()

    assert changes(camera) == [("WARNING", "OFFLINE", ""), ("OFFLINE", "FAULT", DARK)]
    message = StockAlert.from_dict(AlertDelivery.objects.filter(camera=camera).order_by("id").last().message)
    assert message.subject().startswith("[Inventory] Dock 1: camera back online, but FAULT (Image too dark")


@pytest.mark.django_db
def test_an_offline_camera_back_with_a_good_frame_sends_one_back_online_alert(camera_with_key):
    camera, _ = camera_with_key()
    frame(camera, count=1)  # CRITICAL
    went_quiet(camera)
    cameras_check_offline()
    frame(camera, count=20)  # back, and restocked meanwhile
    cameras_check_offline()
    assert changes(camera)[-2:] == [("CRITICAL", "OFFLINE", ""), ("OFFLINE", "FULL", "")]


@pytest.mark.django_db
def test_a_heartbeat_from_a_fault_camera_is_back_online_in_fault(camera_with_key):
    camera, _ = camera_with_key()
    frame(camera)
    frame(camera, dark=True)
    went_quiet(camera)
    cameras_check_offline()
    camera_mark_seen(camera=camera)  # a heartbeat, no frame
    cameras_check_offline()
    assert changes(camera)[-2:] == [("FAULT", "OFFLINE", DARK), ("OFFLINE", "FAULT", DARK)]
