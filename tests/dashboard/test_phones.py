"""Phones as cameras: a one-time, expiring pairing link (QR code) gives one phone its own device key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import Camera, DeviceKey, PairingLink
from devices.services import pairing_link_create


def token_of(html: str) -> str:
    return html.split("/pair/", 1)[1].split("/", 1)[0]


@pytest.mark.django_db
class TestPairing:
    def test_a_manager_adds_a_phone_camera_and_gets_a_qr_code(self, client, manager):
        client.force_login(manager)
        response = client.post("/phones/", {"name": "Aisle 4"})
        html = response.content.decode()
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        assert '<svg' in html and 'data-field="qr"' in html and "http://testserver/pair/" in html
        camera = Camera.objects.get(slug="aisle-4")
        assert not camera.keys.exists()  # the phone gets its own key when it pairs
        assert PairingLink.objects.get().expires_at > timezone.now()

    def test_an_operator_may_not_add_a_phone(self, client, viewer):
        client.force_login(viewer)
        assert client.post("/phones/", {"name": "x"}).status_code == 403
        assert not Camera.objects.exists()

    def test_the_link_gives_the_phone_a_working_key_once(self, client, manager, camera_client, jpeg_bytes):
        client.force_login(manager)
        token = token_of(client.post("/phones/", {"name": "Aisle 4"}).content.decode())
        phone = client.__class__()  # the phone: not logged in
        assert "Start" in phone.get(f"/pair/{token}/").content.decode()  # looking does not use it up
        assert PairingLink.objects.get().used_at is None
        response = phone.post(f"/pair/{token}/")
        html = response.content.decode()
        assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
        raw_key = html.split('data-key="', 1)[1].split('"', 1)[0]
        assert DeviceKey.prefix_of(raw_key) and DeviceKey.objects.get().camera.slug == "aisle-4"
        from django.core.files.uploadedfile import SimpleUploadedFile

        posted = camera_client(raw_key).post("/api/v1/frames/", {"image": SimpleUploadedFile("f.jpg", jpeg_bytes(),
                                                                                              "image/jpeg")},
                                             format="multipart")
        assert posted.status_code == 201 and posted.json()["camera"] == "aisle-4"
        # Used: a second phone (or a replay) is refused in words and gets nothing.
        again = phone.post(f"/pair/{token}/")
        assert again.status_code == 410 and "already used" in again.content.decode()
        assert DeviceKey.objects.count() == 1

    def test_an_expired_or_unknown_link_is_refused_and_stores_nothing(self, client, camera_with_key):
        camera, _ = camera_with_key()
        link, token = pairing_link_create(camera=camera)
        PairingLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        for method in (client.get, client.post):
            response = method(f"/pair/{token}/")
            assert response.status_code == 410 and "expired" in response.content.decode()
        assert client.post("/pair/not-a-token/").status_code == 410
        assert "not valid" in client.get("/pair/not-a-token/").content.decode()
        assert DeviceKey.objects.filter(camera=camera).count() == 1  # only the camera's own first key
        assert PairingLink.objects.get().used_at is None

    def test_the_capture_page_holds_no_secret(self, client):
        html = client.get("/capture/").content.decode()
        assert 'data-key=""' in html and "capture.js" in html

    def test_pair_a_phone_for_an_existing_camera(self, client, manager, camera_with_key):
        camera_with_key()
        client.force_login(manager)
        response = client.post("/cameras/dock-1/phone/")
        assert response.status_code == 200 and PairingLink.objects.get().camera.slug == "dock-1"
