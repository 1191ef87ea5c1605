"""The camera page's pull source panel: test connection (shows the frame, stores nothing), save
(credentials encrypted, never shown again), failures on the dashboard in words."""

from __future__ import annotations

import pytest

from detection.models import DetectionEvent
from detection.pull.models import PullSource
from detection.pull.services import pull_once
from tests.conftest import labelled_val_images
from tests.fake_camera import FakeCamera

PASSWORD = "pa55-word"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ip_camera(settings):
    settings.CAMERA_PULL_ALLOW_LOOPBACK = True
    (image, _), = labelled_val_images(min_boxes=8, max_boxes=20, limit=1)
    camera = FakeCamera(image.read_bytes(), password=PASSWORD).start()
    yield camera
    camera.stop()


@pytest.fixture
def dock(camera_with_key):
    camera, _ = camera_with_key()
    return camera


def source_url(slug: str = "dock-1") -> str:
    return f"/cameras/{slug}/source/"


def form(url: str, **extra) -> dict:
    return {"url": url, "auth": "digest", "username": "admin", "password": PASSWORD, "interval_s": 10,
            "timeout_s": 3, "tls_verify": "on", **extra}


@pytest.mark.django_db
class TestPullSourcePanel:
    def test_test_connection_shows_the_frame_and_stores_nothing(self, client, manager, dock, ip_camera):
        client.force_login(manager)
        response = client.post(source_url(), {**form(f"{ip_camera.url}/snapshot.jpg"), "action": "test"}, **HTMX)
        assert response.status_code == 200
        assert 'data-field="test-frame"' in response.content.decode()
        assert 'src="data:image/jpeg;base64,' in response.content.decode()
        assert not PullSource.objects.exists() and not DetectionEvent.objects.exists()

    def test_test_connection_says_why_not(self, client, manager, dock, ip_camera):
        client.force_login(manager)
        response = client.post(source_url(), {**form(f"{ip_camera.url}/snapshot.jpg", password="nope"),
                                              "action": "test"}, **HTMX)
        html = response.content.decode()
        assert "refused the user name or password (HTTP 401)" in html and "nope" not in html
        assert not PullSource.objects.exists()

    def test_a_metadata_address_is_refused_with_a_reason(self, client, manager, dock):
        client.force_login(manager)
        for action in ("test", "save"):
            response = client.post(source_url(), {**form("http://169.254.169.254/latest/meta-data/"),
                                                  "action": action}, **HTMX)
            assert response.status_code == 422
            assert "link-local or cloud metadata" in response.content.decode()
        assert not PullSource.objects.exists()

    def test_save_encrypts_the_password_and_never_shows_it_again(self, client, manager, dock, ip_camera):
        client.force_login(manager)
        response = client.post(source_url(), {**form(f"{ip_camera.url}/snapshot.jpg"), "action": "save"})
        assert response.status_code == 302
        source = PullSource.objects.get()
        assert PASSWORD not in source.password_encrypted
        page = client.get("/cameras/dock-1/").content.decode()
        assert "(password saved)" in page and PASSWORD not in page and source.url in page
        # Testing again with a blank password uses the saved one.
        response = client.post(source_url(), {**form(f"{ip_camera.url}/snapshot.jpg", password=""), "action": "test"},
                               **HTMX)
        assert 'data-field="test-frame"' in response.content.decode()

    def test_an_operator_may_not_change_the_source(self, client, viewer, dock):
        client.force_login(viewer)
        response = client.post(source_url(), {**form("http://192.168.1.64/snap.jpg"), "action": "save"})
        assert response.status_code == 403
        assert 'action="/cameras/dock-1/source/"' not in client.get("/cameras/dock-1/").content.decode()

    def test_stop_pulling_goes_back_to_push(self, client, manager, dock):
        PullSource.objects.create(camera=dock, url="http://192.168.1.64/snap.jpg")
        client.force_login(manager)
        client.post(source_url(), {"action": "remove"})
        assert not PullSource.objects.exists()


@pytest.mark.django_db
def test_a_failing_pull_shows_on_the_dashboard_in_words(client, viewer, dock, ip_camera):
    PullSource.objects.create(camera=dock, url=f"{ip_camera.url}/html")
    pull_once(PullSource.objects.select_related("camera").get())
    client.force_login(viewer)
    for page in ("/", "/cameras/dock-1/", "/partials/inventory/"):
        html = client.get(page).content.decode()
        assert 'data-field="pull-error"' in html, page
        assert "not a JPEG, PNG or WebP picture" in html


@pytest.mark.django_db
def test_a_push_camera_shows_no_pull_error(client, viewer, dock):
    client.force_login(viewer)
    assert 'data-field="pull-error"' not in client.get("/").content.decode()
