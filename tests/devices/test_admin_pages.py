"""Admin pages an engineer opens by URL: they answer with a way forward, not a role 403 or an empty list."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer(client, django_user_model):
    user = django_user_model.objects.create_superuser("engineer", "e@example.test", "pw-engineer-1")
    client.force_login(user)
    return client


def test_a_superuser_opening_the_key_add_form_is_sent_to_the_camera_action(engineer):
    # Keys are made from their camera and shown once; the blank add form does not exist. A superuser
    # used to get the "Access comes with a role" 403 page here, which reads as a broken account.
    response = engineer.get("/admin/devices/devicekey/add/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/devices/camera/"
    page = response.content.decode()
    assert "Create a new device key (shown once)" in page
    assert "Access comes with a role" not in page


def test_someone_without_the_key_permission_still_cannot_add_keys(client, django_user_model):
    staff = django_user_model.objects.create_user("staffer", password="pw-staffer-1", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/devices/devicekey/add/").status_code == 403


def test_the_model_versions_list_names_the_bundled_model_being_served(engineer):
    # With no version installed the list is empty, yet a model counts every frame: the bundled file.
    page = engineer.get("/admin/detection/modelversion/").content.decode()
    assert "Bundled model package_detector.int8.onnx" in page
    assert "served now (no version is active)" in page
    assert "confidence 0.35 / NMS IoU 0.5 (model)" in page  # the shipped model's own count-first pair
