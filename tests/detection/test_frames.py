"""Frames kept with their events: as many files as events, none orphaned, bounded in size; local
files by default and S3 (moto's server) for several workers. Real frames, the real shipped model."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from detection.models import DetectionEvent
from tests.conftest import labelled_val_images
from tests.roles import role_group

URL = "/api/v1/frames/"


@pytest.fixture(scope="module")
def frames() -> list[bytes]:
    """Real warehouse frames (640x640 JPEG), cycled so no camera looks frozen."""
    return [path.read_bytes() for path, _ in labelled_val_images(min_boxes=3, max_boxes=30, limit=5)]


@pytest.fixture
def post(camera_client, django_capture_on_commit_callbacks):
    """Post frames as a camera; each post's on-commit work (file deletions, broadcasts) runs as in production."""
    def send(key: str, images: list[bytes], n: int) -> list[dict]:
        client, bodies = camera_client(key), []
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(URL, {"image": SimpleUploadedFile("f.jpg", images[i % len(images)],
                                                                         content_type="image/jpeg")},
                                       format="multipart")
            assert response.status_code == 201, response.content
            bodies.append(response.json())
        return bodies

    return send


def stored(slug: str) -> set[str]:
    folder = f"frames/{slug}"
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return set()
    return {f"{folder}/{name}" for name in files}


@pytest.mark.django_db
class TestLocalFiles:
    def test_after_25_frames_exactly_the_20_kept_events_have_files(self, camera_with_key, post, frames):
        camera, key = camera_with_key(slug="frames-25")
        post(key, frames, 25)
        events = list(DetectionEvent.objects.filter(camera=camera))
        assert len(events) == 20
        names = {event.image.name for event in events}
        assert "" not in names
        # No orphan (a file of a trimmed event) and no missing file (an event without its file).
        assert stored(camera.slug) == names
        for event in events[:3]:
            with default_storage.open(event.image.name) as fh:
                assert Image.open(fh).size == (event.image_width, event.image_height) == (640, 640)

    def test_a_frame_within_bounds_is_kept_byte_for_byte_with_its_boxes(self, camera_with_key, post, frames):
        camera, key = camera_with_key(slug="frames-exact")
        body, = post(key, frames[3:4], 1)
        event = DetectionEvent.objects.get(pk=body["event_id"])
        with default_storage.open(event.image.name) as fh:
            assert fh.read() == frames[3]
        assert len(event.boxes) == body["count"] > 0
        for x1, y1, x2, y2, score, counted in event.boxes:
            assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1 and 0 < score <= 1 and counted is True

    def test_a_large_frame_is_re_encoded_within_the_configured_bounds(self, camera_with_key, post, frames, settings):
        settings.FRAME_STORE_MAX_SIDE, settings.FRAME_STORE_MAX_BYTES = 320, 20_000
        camera, key = camera_with_key(slug="frames-small")
        body, = post(key, frames[4:5], 1)  # 640x640, 111 kB
        event = DetectionEvent.objects.get(pk=body["event_id"])
        assert event.image.name.endswith(".jpg")
        assert default_storage.size(event.image.name) <= 20_000
        with default_storage.open(event.image.name) as fh:
            assert max(Image.open(fh).size) <= 320
        # The frame as received is what the boxes and dimensions describe (boxes are normalised).
        assert (event.image_width, event.image_height) == (640, 640)

    def test_a_failed_transaction_leaves_no_file_behind(self, camera_with_key, post, frames, monkeypatch, client):
        camera, key = camera_with_key(slug="frames-fail")
        post(key, frames, 2)
        before = stored(camera.slug)

        def broken(*args, **kwargs):
            raise RuntimeError("database went away mid-transaction")

        monkeypatch.setattr("detection.stock.services._history", broken)
        with pytest.raises(RuntimeError):
            post(key, frames, 1)
        assert stored(camera.slug) == before  # the new file was deleted with the rolled-back event
        assert DetectionEvent.objects.filter(camera=camera).count() == 2

    def test_deleting_a_camera_deletes_its_frames_once_that_commits(self, camera_with_key, post, frames,
                                                                    django_capture_on_commit_callbacks):
        from django.db import transaction

        camera, key = camera_with_key(slug="frames-gone")
        post(key, frames, 3)
        assert len(stored(camera.slug)) == 3

        class Abort(Exception):
            pass

        with pytest.raises(Abort), transaction.atomic():  # changed their mind: rows and files stay
            camera.delete()
            raise Abort
        assert len(stored(camera.slug)) == 3
        with django_capture_on_commit_callbacks(execute=True):
            type(camera).objects.get(slug="frames-gone").delete()  # the events go by cascade; no service sees them
        assert stored(camera.slug) == set()

    def test_frames_can_be_switched_off(self, camera_with_key, post, frames, settings):
        settings.FRAME_STORE_ENABLED = False
        camera, key = camera_with_key(slug="frames-off")
        body, = post(key, frames, 1)
        event = DetectionEvent.objects.get(pk=body["event_id"])
        assert not event.image and event.boxes  # the boxes are still kept
        assert stored(camera.slug) == set()


@pytest.fixture
def s3_storage(settings, moto_endpoint):
    """MEDIA_STORAGE=s3 against moto's server (a real HTTP endpoint, as production's bucket would be)."""
    endpoint = moto_endpoint
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket="frames-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "frames-test", "location": "site-1", "region_name": "eu-west-1",
                    "endpoint_url": endpoint, "default_acl": None, "querystring_auth": True,
                    "file_overwrite": False},
    }}
    return s3


@pytest.mark.django_db
def test_on_s3_the_bucket_holds_exactly_the_kept_frames_and_the_page_serves_them(
    s3_storage, camera_with_key, post, frames, client, django_user_model,
):
    camera, key = camera_with_key(slug="frames-s3")
    post(key, frames, 22)
    events = list(DetectionEvent.objects.filter(camera=camera))
    listed = s3_storage.list_objects_v2(Bucket="frames-test", Prefix="site-1/frames/frames-s3/")
    keys = {item["Key"] for item in listed.get("Contents", [])}
    assert keys == {f"site-1/{event.image.name}" for event in events}
    assert len(keys) == 20
    # An operator's browser gets the frame through the dashboard (the bucket itself stays private).
    user = django_user_model.objects.create_user("olga", password="x")
    user.groups.add(role_group("Operators"))
    client.force_login(user)
    response = client.get(f"/cameras/{camera.slug}/events/{events[0].pk}/image")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    body = s3_storage.get_object(Bucket="frames-test", Key=f"site-1/{events[0].image.name}")["Body"].read()
    assert response.content == body
    assert Image.open(io.BytesIO(response.content)).size == (640, 640)
