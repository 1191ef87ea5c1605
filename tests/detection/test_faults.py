"""Camera FAULT: a frame that cannot be counted (too dark, too uniform, too small, or the same pixels
frame after frame) is a camera problem, not an empty shelf. It is answered and shown as FAULT and
never counted as stock. Through the API, with the shipped model on real warehouse frames."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageEnhance

from detection.models import DetectionEvent, StockState
from tests.conftest import labelled_val_images

URL = "/api/v1/frames/"
pytestmark = pytest.mark.django_db


def variant(data: bytes, change: Callable[[Image.Image], Image.Image]) -> bytes:
    out = io.BytesIO()
    change(Image.open(io.BytesIO(data)).convert("RGB")).save(out, "JPEG", quality=90)
    return out.getvalue()


def covered(image: Image.Image) -> Image.Image:
    """A hand or a cap over the lens: the scene is still there, at 2 % of its light."""
    return ImageEnhance.Brightness(image).enhance(0.02)


def blown_out(image: Image.Image) -> Image.Image:
    """Sun or a flood light straight into the lens."""
    return ImageEnhance.Brightness(image).enhance(12.0)


def fogged(image: Image.Image) -> Image.Image:
    """Condensation or dirt on the lens: the scene washes out to almost one grey."""
    return ImageEnhance.Contrast(image).enhance(0.05)


def thumbnail(image: Image.Image) -> Image.Image:
    return image.resize((40, 30))


@pytest.fixture(scope="module")
def shelves() -> list[bytes]:
    """Two real frames with 8-20 packages each."""
    return [path.read_bytes() for path, _ in labelled_val_images(min_boxes=8, max_boxes=20, limit=2)]


def post(client, data: bytes) -> dict:
    response = client.post(URL, {"image": SimpleUploadedFile("f.jpg", data, content_type="image/jpeg")},
                           format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_covered_lens_is_a_fault_not_a_stock_out(camera_with_key, camera_client, shelves):
    camera, key = camera_with_key(critical=3, target=60, window=3)
    client = camera_client(key)
    good = post(client, shelves[0])
    assert good["status"] == "WARNING" and good["count"] > 3 and good["fault"] is None
    dark = [post(client, variant(shelves[0], covered)) for _ in range(2)]
    for body in dark:
        assert body["status"] == "FAULT"
        assert "too dark" in body["fault"]
        assert body["smoothed_count"] == good["smoothed_count"]  # the stock reading stands
    state = StockState.objects.get(camera=camera)
    assert state.count_status == "WARNING" and state.smoothed_count == good["smoothed_count"]
    assert state.effective_status() == "FAULT" and "too dark" in state.fault
    # Uncovered: the two dark frames are not in the median (with them it would be 0: CRITICAL).
    back = post(client, shelves[0])
    assert (back["status"], back["smoothed_count"], back["fault"]) == ("WARNING", good["count"], None)
    assert StockState.objects.get(camera=camera).fault == ""
    assert list(DetectionEvent.objects.order_by("id").values_list("status", flat=True)) == [
        "WARNING", "FAULT", "FAULT", "WARNING"]


@pytest.mark.parametrize("change,reason", [(covered, "too dark"), (blown_out, "too bright"), (fogged, "too uniform"),
                                           (thumbnail, "too small")])
def test_blind_frames_are_faults_with_a_reason(camera_with_key, camera_client, shelves, change, reason):
    camera, key = camera_with_key()
    body = post(camera_client(key), variant(shelves[0], change))
    assert body["status"] == "FAULT" and reason in body["fault"]
    # Never counted as stock: no reading yet, so the camera is not CRITICAL either.
    state = StockState.objects.get(camera=camera)
    assert state.count_status == "WAITING" and state.smoothed_count is None


def test_a_flat_grey_frame_is_a_fault(camera_with_key, camera_client, jpeg_bytes):
    _, key = camera_with_key()
    body = post(camera_client(key), jpeg_bytes())
    assert body["status"] == "FAULT" and "too uniform" in body["fault"]


def test_a_frozen_camera_is_a_fault_after_n_identical_frames(camera_with_key, camera_client, shelves, settings):
    settings.CAMERA_FAULT_FROZEN_FRAMES = 3
    camera, key = camera_with_key(critical=3, target=60)
    client = camera_client(key)
    bodies = [post(client, shelves[0]) for _ in range(3)]
    assert [b["status"] for b in bodies] == ["WARNING", "WARNING", "FAULT"]
    assert "unchanged for 3 frames" in bodies[-1]["fault"]
    moving = post(client, shelves[1])
    assert moving["status"] != "FAULT" and StockState.objects.get(camera=camera).fault == ""


def test_the_checks_follow_their_settings(camera_with_key, camera_client, shelves, settings):
    _, key = camera_with_key(critical=3, target=60)
    client = camera_client(key)
    settings.CAMERA_FAULT_MIN_SIDE = 0  # off: a thumbnail is counted like any frame
    assert post(client, variant(shelves[0], thumbnail))["status"] != "FAULT"
    settings.CAMERA_FAULT_DARK_LEVEL = 200  # a strict level flags even a normal warehouse frame
    assert "too dark" in post(client, shelves[1])["fault"]


def test_no_real_frame_is_a_fault_with_the_default_thresholds(settings):
    # The other side of the checks: every real frame here (dataset val set and the demo samples,
    # dark and flat ones included) is counted. A fault on a working camera would hide its stock.
    from detection.detector import assess_image, decode_image
    from detection.stock.faults import fault_thresholds
    from tests.conftest import SAMPLES, dataset_dir

    frames = sorted((dataset_dir() / "images" / "val").glob("*.jpg")) + sorted(SAMPLES.glob("*.jpg"))
    assert len(frames) > 200
    limits = fault_thresholds()
    faults = {path.name: reason for path in frames
              if (reason := assess_image(decode_image(path.read_bytes(), target_size=416)).fault(limits))}
    assert faults == {}


def test_the_frozen_frame_fingerprint_tells_one_changed_pixel_and_a_different_shape():
    from detection.detector.health import pixels_fingerprint

    frame = np.random.default_rng(5).integers(0, 256, (270, 480, 3), dtype=np.uint8)
    assert pixels_fingerprint(frame) == pixels_fingerprint(frame.copy())
    touched = frame.copy()
    touched[135, 240, 1] ^= 1
    assert pixels_fingerprint(touched) != pixels_fingerprint(frame)
    # Same bytes, other shape: not the same picture.
    assert pixels_fingerprint(frame.reshape(480, 270, 3)) != pixels_fingerprint(frame)
