"""Tiled inference: small distant boxes found by tiles, each object counted once, cost only where it pays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.detector import DetectionResult, decode_image, load_detector
from detection.detector.base import Detection
from detection.detector.tiling import TilingPolicy, detect_tiled, tile_windows
from simulation.make_samples import render_frame


class BlobDetector:
    """Finds bright rectangles, but only those at least MIN_SIDE model-input pixels across: a stand-in for
    a detector that misses small, distant packages when a big frame is shrunk to its input."""

    input_size, iou, max_det, MIN_SIDE = 416, 0.45, 300, 12

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray, *, conf: float | None = None) -> DetectionResult:
        self.calls += 1
        h, w = image.shape[:2]
        to_input = self.input_size / max(h, w)
        n, _, stats, _ = cv2.connectedComponentsWithStats((image[..., 0] > 128).astype(np.uint8))
        found = [Detection(float(x), float(y), float(x + bw), float(y + bh), 0.9, 0)
                 for x, y, bw, bh, _ in stats[1:] if min(bw, bh) * to_input >= self.MIN_SIDE]
        return DetectionResult(found, w, h, 1.0)


def frame_with_boxes() -> tuple[np.ndarray, int]:
    """Small cartons (40 px: 9 px once the frame is shrunk to 416) in a grid, and one big carton (400 px)
    in the middle, across all four tiles. Returns (frame, number of cartons)."""
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[350:750, 750:1150] = 255
    count = 1
    for y in range(60, 1000, 120):
        for x in range(50, 1880, 155):
            if 300 - 40 < y < 800 and 700 - 40 < x < 1200:
                continue  # leave room around the big one
            frame[y:y + 40, x:x + 40] = 255
            count += 1
    return frame, count


def test_tiles_cover_the_frame_with_overlap():
    windows = tile_windows(1920, 1080, 2, 2, 0.2)
    assert len(windows) == 4
    assert min(x0 for x0, _, _, _ in windows) == 0 and max(x1 for _, _, x1, _ in windows) == 1920
    assert min(y0 for _, y0, _, _ in windows) == 0 and max(y1 for _, _, _, y1 in windows) == 1080
    left, right = windows[0], windows[1]
    assert left[2] - right[0] == pytest.approx(0.2 * (left[2] - left[0]), abs=2)


def test_tiling_finds_small_boxes_and_counts_each_object_once():
    frame, expected = frame_with_boxes()
    detector = BlobDetector()
    assert detector.detect(frame).count == 1  # whole frame: only the big carton
    result = detect_tiled(detector, frame, policy=TilingPolicy(mode="always"))
    assert result.count == expected
    assert result.extra["tiles"] == 4 and detector.calls == 1 + 1 + 4
    big = [d for d in result.detections if d.x2 - d.x1 > 300]
    assert len(big) == 1 and (big[0].x1, big[0].y1, big[0].x2, big[0].y2) == (750, 350, 1150, 750)


def test_auto_tiles_only_big_frames_full_of_small_boxes():
    frame, _ = frame_with_boxes()
    sparse = np.zeros_like(frame)
    sparse[200:700, 300:900] = 255  # one big carton: the whole-frame pass is enough
    detector = BlobDetector()
    assert detect_tiled(detector, sparse, policy=TilingPolicy(mode="auto")).extra["tiles"] == 0
    assert detector.calls == 1
    frame[350:750, 750:1150] = 0  # small ones only; the whole-frame pass sees none of them...
    frame[100:160, 100:160] = frame[100:160, 300:360] = frame[100:160, 500:560] = 255  # ...but these 3
    assert detect_tiled(detector, frame, policy=TilingPolicy(mode="auto")).extra["tiles"] == 4
    small = frame[:416, :416].copy()  # a frame no bigger than the model input is never tiled
    assert detect_tiled(detector, small, policy=TilingPolicy(mode="auto")).extra["tiles"] == 0


def test_bad_policies_are_refused():
    with pytest.raises(ValueError):
        TilingPolicy(mode="sometimes")
    with pytest.raises(ValueError):
        TilingPolicy(mode="auto", overlap=0.6)


def test_off_is_the_plain_detector_on_the_real_model():
    detector = load_detector()
    frame = render_frame(7, 20)
    image = decode_image(frame, target_size=detector.input_size)
    plain = detector.detect(image)
    tiled = detect_tiled(detector, image, policy=TilingPolicy(mode="off"))
    assert [(d.x1, d.y1, d.score) for d in tiled.detections] == [(d.x1, d.y1, d.score) for d in plain.detections]
    always = detect_tiled(detector, decode_image(frame, target_size=detector.input_size * 2))
    assert always.extra["tiles"] == 4
    assert all(0 <= d.x1 < d.x2 <= 1920 and 0 <= d.y1 < d.y2 <= 1080 for d in always.detections)


@pytest.fixture
def tiling_setting(settings):
    from detection.serving.runtime import tiling_policy

    def use(mode: str) -> None:
        settings.DETECTOR_TILING = mode
        tiling_policy.cache_clear()

    yield use
    tiling_policy.cache_clear()


def test_the_ingest_path_tiles_frames_when_configured(tiling_setting):
    from detection.ingest.services import frame_analyze

    frame = render_frame(7, 20)
    tiling_setting("off")
    assert "tiles" not in frame_analyze(data=frame).extra
    tiling_setting("always")
    tiled = frame_analyze(data=frame)
    assert tiled.extra["tiles"] == 4
    assert (tiled.image_width, tiled.image_height) == (1920, 1080)  # boxes in the camera's pixels
