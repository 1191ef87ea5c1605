"""The admin (where managers calibrate), the OpenAPI docs and the health check."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from detection.detector import load_detector
from detection.models import DetectionEvent, StockState
from devices.models import Camera, DeviceKey
from devices.services import device_key_authenticate


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.mark.django_db
class TestAdmin:
    def test_new_key_action_shows_the_key_once_and_it_works(self, staff, camera_with_key):
        camera, _ = camera_with_key()
        response = staff.post("/admin/devices/camera/", {"action": "create_key", "_selected_action": [camera.pk]},
                              follow=True)
        text = response.content.decode()
        start = text.index("<code class='device-key'>") if "<code class='device-key'>" in text else \
            text.index('<code class="device-key">')
        raw_key = text[start:].split(">", 1)[1].split("<", 1)[0]
        assert device_key_authenticate(raw_key).camera == camera
        assert camera.keys.count() == 2
        # Shown once: the camera page does not show it again.
        assert raw_key not in staff.get(f"/admin/devices/camera/{camera.pk}/change/").content.decode()

    def test_thresholds_inline_refuses_critical_above_target(self, staff, camera_with_key):
        camera, _ = camera_with_key()
        form = {
            "slug": camera.slug, "name": camera.name, "location": "", "is_active": "on",
            "offline_timeout_s": 300,
            "stock-TOTAL_FORMS": 1, "stock-INITIAL_FORMS": 1, "stock-MIN_NUM_FORMS": 0, "stock-MAX_NUM_FORMS": 1,
            "stock-0-camera": camera.pk, "stock-0-critical_level": 50, "stock-0-target_capacity": 10,
            "stock-0-smoothing_window": 3,
            "keys-TOTAL_FORMS": 1, "keys-INITIAL_FORMS": 1, "keys-MIN_NUM_FORMS": 0, "keys-MAX_NUM_FORMS": 1000,
            "keys-0-id": camera.keys.get().pk, "keys-0-camera": camera.pk, "keys-0-label": "",
        }
        response = staff.post(f"/admin/devices/camera/{camera.pk}/change/", form)
        assert response.status_code == 200  # re-rendered with errors, not redirected
        assert "must be lower than the target capacity" in response.content.decode()
        assert StockState.objects.get(camera=camera).critical_level == 3

        form["stock-0-critical_level"] = 4
        response = staff.post(f"/admin/devices/camera/{camera.pk}/change/", form)
        assert response.status_code == 302
        assert StockState.objects.get(camera=camera).critical_level == 4

    def test_events_are_read_only_and_filterable(self, staff, camera_with_key):
        camera, _ = camera_with_key()
        DetectionEvent.objects.create(camera=camera, created_at="2026-11-27T08:00:00Z", raw_count=5,
                                      smoothed_count=5, status="WARNING", inference_ms=9.0)
        page = staff.get("/admin/detection/detectionevent/?status__exact=WARNING&q=dock")
        assert page.status_code == 200 and "WARNING" in page.content.decode()
        assert staff.get("/admin/detection/detectionevent/add/").status_code == 403
        event = DetectionEvent.objects.get()
        change = staff.get(f"/admin/detection/detectionevent/{event.pk}/change/").content.decode()
        assert 'name="raw_count"' not in change  # displayed, not editable

    def test_revoke_action(self, staff, camera_with_key, camera_client):
        _, raw_key = camera_with_key()
        key = DeviceKey.objects.get()
        staff.post("/admin/devices/devicekey/", {"action": "revoke", "_selected_action": [key.pk]})
        assert camera_client(raw_key).post("/api/v1/heartbeat/").status_code == 401


@pytest.mark.django_db
class TestDocsAndHealth:
    def test_schema_documents_the_frames_contract_and_bearer_scheme(self, client):
        schema = client.get("/api/schema/?format=json").json()
        frames = schema["paths"]["/api/v1/frames/"]["post"]
        assert set(frames["responses"]) >= {"201", "400", "401", "413", "429", "503"}
        assert schema["components"]["securitySchemes"]["deviceKey"]["scheme"] == "bearer"
        assert {"deviceKey": []} in frames["security"]
        assert client.get("/api/docs/").status_code == 200

    @pytest.mark.parametrize("path,codes", [
        ("/api/v1/frames/", {"201", "400", "401", "406", "413", "415", "422", "429", "503"}),
        ("/api/v1/inspect/", {"200", "400", "403", "406", "413", "415", "429", "503"}),
        ("/api/v1/heartbeat/", {"204", "401", "406"}),
    ])
    def test_schema_lists_every_answer_an_operation_gives(self, client, path, codes):
        schema = client.get("/api/schema/?format=json").json()
        responses = schema["paths"][path]["post"]["responses"]
        assert set(responses) == codes
        assert all(responses[code]["description"] for code in codes if code >= "400")
        # 405 belongs to no operation (it answers the methods that have none): the API says it once.
        assert "405" in schema["info"]["description"] and "Allow" in schema["info"]["description"]

    def test_the_documented_405_406_and_415_really_come_as_json(self, camera_with_key, camera_client, jpeg_bytes):
        from django.core.files.uploadedfile import SimpleUploadedFile

        _, key = camera_with_key()
        client = camera_client(key)
        image = SimpleUploadedFile("f.jpg", jpeg_bytes(), content_type="image/jpeg")
        not_acceptable = client.post("/api/v1/frames/", {"image": image}, format="multipart", HTTP_ACCEPT="text/html")
        assert not_acceptable.status_code == 406 and not_acceptable.json()["detail"]
        unsupported = client.post("/api/v1/frames/", b'{"image": "x"}', content_type="application/json")
        assert unsupported.status_code == 415 and unsupported.json()["detail"]
        wrong_method = client.get("/api/v1/frames/")
        assert wrong_method.status_code == 405 and wrong_method.json()["detail"]
        assert "POST" in wrong_method.headers["Allow"]
        assert DetectionEvent.objects.count() == 0

    def test_the_api_docs_load_nothing_from_another_site(self, client):
        # Dashboards and their docs run on closed networks: Swagger UI comes from our static files.
        from django.contrib.staticfiles import finders

        html = client.get("/api/docs/").content.decode()
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and "://" not in html, assets
        for asset in assets:
            assert asset.startswith("/static/") and finders.find(asset.removeprefix("/static/")), asset

    def test_healthz_ok_with_model_and_db(self, client):
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["model"] == "ok" and body["input_size"] > 0

    def test_healthz_is_503_without_model(self, client, settings, tmp_path):
        settings.MODEL_PATH = tmp_path / "gone.onnx"
        load_detector.cache_clear()
        try:
            response = client.get("/healthz")
        finally:
            load_detector.cache_clear()
        assert response.status_code == 503
        assert response.json()["model"].startswith("error")


def settings_under(env: dict[str, str]) -> str:
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='inventory_monitor.settings'; "
            "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], "
            "s.CHANNEL_LAYERS['default']['BACKEND'], s.CACHES['default']['BACKEND'])")
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True)
    return result.stdout + result.stderr


def test_environment_switches_to_postgres_and_redis_without_code_changes():
    default = settings_under({"DEBUG": "1"})
    assert "sqlite3" in default and "InMemoryChannelLayer" in default and "LocMemCache" in default
    scaled = settings_under({"DEBUG": "1", "DATABASE_URL": "postgres://u:p@db:5432/inv",
                             "REDIS_URL": "redis://cache:6379/0"})
    assert "postgresql" in scaled and "RedisPubSubChannelLayer" in scaled and "RedisCache" in scaled


@pytest.mark.django_db
def test_a_201_is_on_disk_sqlite_syncs_every_commit(settings):
    # synchronous=NORMAL (WAL) lets a power cut take back frames already answered 201; FULL syncs the
    # WAL on every commit (measured cost: benchmarks/sqlite_sync.py, README "Durability").
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL commits durably by default (synchronous_commit=on)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"

    def init_command(env: dict[str, str]) -> str:
        code = ("import os; os.environ['DJANGO_SETTINGS_MODULE']='inventory_monitor.settings'; "
                "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS']['init_command'])")
        base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_SYNCHRONOUS"}}
        done = subprocess.run([sys.executable, "-c", code], env={**base, "DEBUG": "1", **env}, capture_output=True,
                              text=True)
        return done.stdout + done.stderr

    assert "synchronous=FULL" in init_command({})
    assert "synchronous=NORMAL" in init_command({"SQLITE_SYNCHRONOUS": "normal"})  # the documented trade
    assert "SQLITE_SYNCHRONOUS must be NORMAL or FULL" in init_command({"SQLITE_SYNCHRONOUS": "OFF"})


def test_production_refuses_to_start_without_a_secret_key():
    out = settings_under({"DEBUG": "0", "SECRET_KEY": ""})
    assert "SECRET_KEY must be set" in out


def test_camera_model_str():
    assert str(Camera(slug="a", name="Dock A")) == "Dock A"
