"""Device keys: shown once, stored hashed, rotated and revoked; onboarding commands for scripts."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from detection.models import StockState
from devices.models import Camera, DeviceKey
from devices.services import device_key_authenticate

HEARTBEAT = "/api/v1/heartbeat/"


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def every_stored_value() -> str:
    """Every row of every table as text: where a leaked key would show up."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f'SELECT * FROM "{model._meta.db_table}"')
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db
class TestOnboarding:
    def test_create_camera_prints_the_key_alone_on_the_last_line(self):
        lines = run("create_camera", "dock-7", "--name", "Dock 7", "--critical", "4", "--target", "40")
        key = lines[-1]
        assert key.startswith("sim_") and " " not in key
        camera = Camera.objects.get(slug="dock-7")
        assert camera.name == "Dock 7"
        state = StockState.objects.get(camera=camera)
        assert (state.critical_level, state.target_capacity) == (4, 40)
        assert device_key_authenticate(key).camera == camera

    def test_create_camera_refuses_bad_thresholds_and_creates_nothing(self):
        with pytest.raises(CommandError, match="lower than the target capacity"):
            run("create_camera", "dock-8", "--critical", "10", "--target", "5")
        assert not Camera.objects.filter(slug="dock-8").exists()

    def test_create_camera_refuses_a_duplicate_slug(self):
        run("create_camera", "dock-9")
        with pytest.raises(CommandError, match="slug"):
            run("create_camera", "dock-9")

    def test_the_raw_key_is_never_stored(self):
        key = run("create_camera", "dock-1")[-1]
        secret = key.split("_", 2)[2]
        dump = every_stored_value()
        assert DeviceKey.objects.get().prefix in dump  # the dump does contain the key row
        assert key not in dump and secret not in dump


@pytest.mark.django_db
class TestRotation:
    def test_two_keys_work_side_by_side_and_revoking_one_leaves_the_other(self, camera_client):
        old = run("create_camera", "dock-1")[-1]
        new = run("camera_key", "add", "dock-1", "--label", "firmware 2")[-1]
        assert camera_client(old).post(HEARTBEAT).status_code == 204
        assert camera_client(new).post(HEARTBEAT).status_code == 204

        prefix = DeviceKey.prefix_of(old)
        assert run("camera_key", "revoke", prefix) == [f"Revoked key {prefix} of dock-1."]
        revoked = camera_client(old).post(HEARTBEAT)
        assert revoked.status_code == 401
        assert revoked.headers["WWW-Authenticate"] == 'Bearer realm="cameras"'
        assert camera_client(new).post(HEARTBEAT).status_code == 204

    def test_list_shows_prefixes_and_state_but_no_secret(self):
        key = run("create_camera", "dock-1")[-1]
        run("camera_key", "revoke", DeviceKey.prefix_of(key))
        fresh = run("camera_key", "add", "dock-1")[-1]
        listing = "\n".join(run("camera_key", "list", "dock-1"))
        assert DeviceKey.prefix_of(key) in listing and "revoked" in listing
        assert DeviceKey.prefix_of(fresh) in listing and "active" in listing
        assert key.split("_", 2)[2] not in listing and fresh.split("_", 2)[2] not in listing

    def test_unknown_camera_or_prefix_is_a_clear_error(self):
        with pytest.raises(CommandError, match="no camera"):
            run("camera_key", "add", "nope")
        with pytest.raises(CommandError, match="no key"):
            run("camera_key", "revoke", "deadbeef")

    def test_heartbeat_keeps_a_camera_online_and_records_key_use(self, camera_client):
        key = run("create_camera", "dock-1")[-1]
        assert camera_client(key).post(HEARTBEAT).status_code == 204
        assert Camera.objects.get().last_seen_at is not None
        assert DeviceKey.objects.get().last_used_at is not None


@pytest.mark.django_db
class TestKeyLookup:
    """device_key_authenticate finds the key with SQL made once (devices/services._key_statement): it
    must find exactly what the ORM query it replaces finds, with the same values, in one query."""

    @staticmethod
    def orm(raw_key: str) -> DeviceKey | None:
        prefix = DeviceKey.prefix_of(raw_key)
        return DeviceKey.objects.usable().select_related("camera").filter(prefix=prefix).first()

    def test_a_usable_key_comes_back_with_its_camera_in_one_query(self, django_assert_num_queries):
        from devices.services import camera_create, device_key_create

        camera, raw = camera_create(slug="dock-2", name="Dock 2", location="North")
        _, other = device_key_create(camera=camera, label="spare")
        device_key_authenticate(raw)  # records last_used_at (an UPDATE), so the next call only reads
        with django_assert_num_queries(1):
            key = device_key_authenticate(raw)
        expected = self.orm(raw)
        assert key.pk == expected.pk and key.label == expected.label == "initial key"
        assert key.last_used_at == expected.last_used_at and key.last_used_at.tzinfo is not None
        assert key.created_at == expected.created_at
        with django_assert_num_queries(0):  # select_related's work: no query for the camera
            assert (key.camera.pk, key.camera.slug, key.camera.location) == (camera.pk, "dock-2", "North")
        assert device_key_authenticate(other).label == "spare"

    def test_what_the_orm_refuses_is_refused(self):
        from devices.services import camera_create, device_key_create, device_key_revoke

        camera, raw = camera_create(slug="dock-3")
        revoked, revoked_raw = device_key_create(camera=camera)
        device_key_revoke(key=revoked)
        assert device_key_authenticate(revoked_raw) is None and self.orm(revoked_raw) is None
        prefix = DeviceKey.prefix_of(raw)
        assert device_key_authenticate(raw.replace(prefix, "f" * len(prefix), 1)) is None  # unknown prefix
        assert device_key_authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None  # wrong secret
        Camera.objects.filter(pk=camera.pk).update(is_active=False)
        assert device_key_authenticate(raw) is None and self.orm(raw) is None
        Camera.objects.filter(pk=camera.pk).update(is_active=True)
        assert device_key_authenticate(raw).camera == camera
