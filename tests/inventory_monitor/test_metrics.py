"""`/metrics`: what an operator's Prometheus sees, who may see it, and that several workers add up."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, SAMPLES

FRAMES_URL = "/api/v1/frames/"


def scrape(client, **extra) -> dict[tuple[str, tuple], float]:
    """Every sample on the page, keyed by (name, sorted labels)."""
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("frame.jpg", data, content_type="image/jpeg")


@pytest.mark.django_db
def test_it_counts_frames_by_camera_and_answer_and_times_each_stage(client, camera_with_key, camera_client):
    _, key = camera_with_key("dock-7")
    before = scrape(client)
    frame = (SAMPLES / "warehouse_01.jpg").read_bytes()
    # The real path: the shipped model on a real frame, twice; then a frame that is no image, and a bad key.
    for _ in range(2):
        assert camera_client(key).post(FRAMES_URL, {"image": upload(frame)}, format="multipart").status_code == 201
    assert camera_client(key).post(FRAMES_URL, {"image": upload(b"GIF89a no")}).status_code == 400
    assert camera_client("sim_nope_0000").post(FRAMES_URL, {"image": upload(frame)}).status_code == 401
    after = scrape(client)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("inventory_frames_total", camera="dock-7", code="201") == 2
    assert grew("inventory_frames_total", camera="dock-7", code="400") == 1
    assert grew("inventory_frames_total", camera="unauthenticated", code="401") == 1
    for stage in ("decode", "detect", "persist"):  # only stored frames are timed
        assert grew("inventory_ingest_stage_seconds_count", stage=stage) == 2
        assert grew("inventory_ingest_stage_seconds_sum", stage=stage) > 0
    assert grew("inventory_detector_inference_seconds_count") == 2
    # The camera posted just now and its shelf is judged from the count: status and age from the database.
    statuses = {labels[1][1]: v for (name, labels), v in after.items()
                if name == "inventory_camera_status" and dict(labels)["camera"] == "dock-7"}
    assert sum(statuses.values()) == 1 and statuses["OFFLINE"] == 0 and statuses["WAITING"] == 0
    assert 0 <= value(after, "inventory_camera_last_seen_age_seconds", camera="dock-7") < 60
    model = [labels for (name, labels), _ in after.items() if name == "inventory_model_info"]
    assert dict(model[0])["name"] and dict(model[0])["file"].endswith(".onnx")


@pytest.mark.django_db
def test_a_camera_that_went_quiet_shows_offline_with_its_age(client, camera_with_key):
    from datetime import timedelta

    from django.utils import timezone

    from devices.models import Camera

    camera, _ = camera_with_key("dock-8")
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now() - timedelta(hours=2))
    samples = scrape(client)
    assert value(samples, "inventory_camera_status", camera="dock-8", status="OFFLINE") == 1
    assert value(samples, "inventory_camera_last_seen_age_seconds", camera="dock-8") >= 7200


@pytest.mark.django_db
def test_only_loopback_may_scrape_unless_token_or_allow_list_says_so(client, settings):
    outside = {"REMOTE_ADDR": "10.1.2.3"}
    refused = client.get("/metrics", **outside)
    assert refused.status_code == 403 and "detail" in refused.json()
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    # Forwarded headers are the client's word, not its address: they open nothing.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1", **outside).status_code == 403

    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token", **outside).status_code == 403

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_FROM = ["10.0.0.0/8"]
    assert client.get("/metrics", **outside).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 403


@pytest.mark.django_db
def test_switched_off_there_is_no_page_and_nothing_is_counted(client, settings, camera_with_key, camera_client,
                                                              jpeg_bytes):
    from detection.metrics import FRAMES

    _, key = camera_with_key("dock-9")
    settings.METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404
    camera_client(key).post(FRAMES_URL, {"image": upload(jpeg_bytes())}, format="multipart")
    settings.METRICS_ENABLED = True
    assert value(scrape(client), "inventory_frames_total", camera="dock-9", code="201") == 0
    assert FRAMES.labels("dock-9", "201")._value.get() == 0


WORKER = """
import os, sys
import django
django.setup()
from dashboard import metrics as dashboard_metrics
from detection import metrics as detection_metrics
from inventory_monitor import metrics
frames, sockets, leave = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "leave"
for _ in range(frames):
    detection_metrics.frame_answered(camera="dock-1", code=201)
detection_metrics.frame_timed(stages={"decode": 4.0, "detect": 20.0, "persist": 2.0}, inference_ms=18.0)
for _ in range(sockets):
    dashboard_metrics.websocket_opened()
if leave:
    metrics.process_exiting()
"""


@pytest.mark.django_db
def test_several_workers_on_one_host_are_added_up(client, tmp_path, monkeypatch):
    # Real processes with their own prometheus-client state, sharing PROMETHEUS_MULTIPROC_DIR as
    # Daphne workers on one host do; the scraped worker (this one) answers for all of them.
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "inventory_monitor.settings",
           "DEBUG": "1", "PATH": "/usr/bin:/bin"}
    for frames, sockets, leave in ((3, 2, "stay"), (4, 1, "leave")):
        subprocess.run([sys.executable, "-c", WORKER, str(frames), str(sockets), leave], env=env, cwd=REPO,
                       check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(client)
    assert value(samples, "inventory_frames_total", camera="dock-1", code="201") == 7
    assert value(samples, "inventory_ingest_stage_seconds_count", stage="detect") == 2
    # Counters outlive a worker; its open sockets do not (the second one shut down).
    assert value(samples, "inventory_websocket_clients") == 2


def referenced_metrics() -> set[str]:
    rules = yaml.safe_load((REPO / "monitoring" / "prometheus-rules.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((REPO / "monitoring" / "grafana-dashboard.json").read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return {name for expr in expressions for name in re.findall(r"\binventory_[a-z_]+", expr)}


def test_the_alert_rules_are_well_formed():
    rules = yaml.safe_load((REPO / "monitoring" / "prometheus-rules.yml").read_text())
    names = set()
    for rule in rules["groups"][0]["rules"]:
        assert {"alert", "expr", "labels", "annotations"} <= rule.keys(), rule
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        names.add(rule["alert"])
    # What the issue asks to be told about: a camera offline, no frames, an error rate.
    assert {"InventoryCameraOffline", "InventoryNoFrames", "InventoryFrameErrorRate"} <= names


@pytest.mark.django_db
def test_the_dashboard_and_rules_only_name_metrics_the_server_exports(client, camera_with_key, camera_client,
                                                                      jpeg_bytes):
    from detection import metrics

    _, key = camera_with_key("dock-1")
    camera_client(key).post(FRAMES_URL, {"image": upload(jpeg_bytes())}, format="multipart")
    metrics.alert_delivered(channel="email", ok=False)
    exported = {name for name, _ in scrape(client)}
    missing = referenced_metrics() - exported
    assert referenced_metrics() and missing == set()


@pytest.mark.django_db
def test_an_alert_that_cannot_be_delivered_shows_in_the_outbox_gauges(client, settings, camera_with_key):
    import socket

    from detection.alerts import flush_alerts
    from detection.detector import Detection, DetectionResult
    from detection.ingest.services import frame_record

    with socket.socket() as unused:  # a mail server that is down
        unused.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = unused.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.ALERT_EMAILS = "127.0.0.1", ["ops@example.com"]
    camera, _ = camera_with_key()
    assert value(scrape(client), "inventory_alert_oldest_unsent_age_seconds") == 0
    frame_record(camera=camera, result=DetectionResult([Detection(1, 1, 9, 9, 0.9, 0)], 640, 480, 5.0))
    flush_alerts()
    samples = scrape(client)
    assert value(samples, "inventory_alert_outbox_rows", state="PENDING") == 1
    assert value(samples, "inventory_alert_outbox_rows", state="SENT") == 0
    assert value(samples, "inventory_alert_oldest_unsent_age_seconds") > 0
    assert value(samples, "inventory_alerts_total", channel="email", outcome="failed") >= 1

