"""POST /api/v1/inspect/: the Vision Inspector's API, run with the real model on real images."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from detection.ingest.services import frame_analyze
from detection.models import DetectionEvent, StockState
from tests.conftest import png_declaring

URL = "/api/v1/inspect/"
pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "frame.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


class TestPermissions:
    def test_anonymous_is_refused(self, client, jpeg_bytes):
        response = client.post(URL, {"image": upload(jpeg_bytes())})
        assert response.status_code == 403
        assert "detail" in response.json()

    def test_a_user_without_inspect_frames_is_refused(self, client, viewer, manager, jpeg_bytes):
        for user in (viewer, manager):
            client.force_login(user)
            response = client.post(URL, {"image": upload(jpeg_bytes())})
            assert response.status_code == 403
            assert "inspect" in response.json()["detail"].lower()

    def test_it_needs_the_csrf_token_like_any_session_post(self, auditor, jpeg_bytes):
        client = Client(enforce_csrf_checks=True)
        client.force_login(auditor)
        response = client.post(URL, {"image": upload(jpeg_bytes())})
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]


class TestInspect:
    def test_it_returns_boxes_down_to_a_low_confidence_and_the_serving_count(self, client, auditor, real_images,
                                                                           camera_with_key):
        camera, _ = camera_with_key("dock-1")
        client.force_login(auditor)
        data = real_images[0].read_bytes()
        response = client.post(URL, {"image": upload(data)})
        assert response.status_code == 200, response.content
        body = response.json()
        assert {"count", "serving_confidence", "min_confidence", "boxes", "image_width", "image_height",
                "model_name", "model_version", "input_size", "inference_ms"} <= set(body)
        scores = [box["score"] for box in body["boxes"]]
        assert scores == sorted(scores, reverse=True)
        assert min(scores) >= body["min_confidence"] == 0.05
        # The count at serving confidence is exactly what a camera would get for the same image.
        assert body["count"] == sum(s >= body["serving_confidence"] for s in scores) == frame_analyze(data=data).count
        assert body["count"] > 0
        # Boxes are in the original image's pixels, not the model's 320/512 input.
        assert (body["image_width"], body["image_height"]) != (body["input_size"], body["input_size"])
        for box in body["boxes"]:
            assert 0 <= box["x1"] < box["x2"] <= body["image_width"] + 1
            assert 0 <= box["y1"] < box["y2"] <= body["image_height"] + 1
        # Looking is not counting: no event, no state change.
        assert DetectionEvent.objects.count() == 0
        assert StockState.objects.get(camera=camera).raw_count is None

    def test_a_non_image_is_a_400_with_a_detail(self, client, auditor):
        client.force_login(auditor)
        response = client.post(URL, {"image": upload(b"not an image at all", "notes.txt", "text/plain")})
        assert response.status_code == 400
        assert "decodable image" in response.json()["detail"]

    def test_a_decompression_bomb_is_a_413(self, client, auditor):
        client.force_login(auditor)
        response = client.post(URL, {"image": upload(png_declaring(30_000, 30_000), "bomb.png",
                                                     "image/png")})
        assert response.status_code == 413
        assert "pixels" in response.json()["detail"]

    def test_too_many_bytes_is_a_413(self, client, auditor, settings):
        settings.INGEST_MAX_BYTES = 1000
        client.force_login(auditor)
        response = client.post(URL, {"image": upload(b"\xff\xd8" + b"0" * 5000)})
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        assert DetectionEvent.objects.count() == 0
