"""Tiled inference for large frames with small, distant packages.

The model sees a frame letterboxed to its input size (416 px): on a 1920x1080 frame a carton 40 px
wide becomes 9 px, below what the detector finds reliably. Tiling runs the model once on the whole
frame and once per overlapping tile of a ``rows x cols`` grid (each tile at full input resolution),
maps every box back to frame pixels, and merges them: greedy NMS, then a box that lies mostly inside
a higher-scoring one (a tile's view of part of a carton) is dropped, as are boxes cut by an inner
tile edge that the full-frame pass or a neighbouring tile also saw.

Cost is ``1 + rows * cols`` model runs. ``mode="auto"`` pays it only where it can help: the frame is
at least ``min_scale`` times the model input on its long side, and the full-frame pass found boxes
whose median side is under ``small_px`` model-input pixels (or found nothing at all in a large frame
is NOT a trigger: an empty depot stays cheap).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from detection.detector.base import Detection, DetectionResult
from detection.detector.decode import DecodedImage
from detection.detector.postprocess import nms

MODES = ("off", "auto", "always")


@dataclass(frozen=True)
class TilingPolicy:
    mode: str = "off"
    rows: int = 2
    cols: int = 2
    overlap: float = 0.2  # share of a tile's side shared with its neighbour
    min_scale: float = 1.5  # auto: frame long side / model input at least this
    small_px: float = 24.0  # auto: median box side (model-input pixels) below this
    min_boxes: int = 3  # auto: at least this many boxes in the full-frame pass

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"tiling mode must be one of {MODES}, not {self.mode!r}")
        if self.rows < 1 or self.cols < 1 or not 0 <= self.overlap < 0.5:
            raise ValueError("tiling needs rows, cols >= 1 and 0 <= overlap < 0.5")

    @property
    def decode_factor(self) -> int:
        """How many model inputs the decoded frame should span, so tiles get real pixels."""
        return 1 if self.mode == "off" else max(self.rows, self.cols)


def tile_windows(width: int, height: int, rows: int, cols: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of each tile, overlapping by ``overlap`` of a tile's side, covering the frame."""
    def spans(size: int, n: int) -> list[tuple[int, int]]:
        if n == 1:
            return [(0, size)]
        tile = size / (n - (n - 1) * overlap)
        step = tile * (1 - overlap)
        return [(int(round(i * step)), min(size, int(round(i * step + tile)))) for i in range(n)]

    return [(x0, y0, x1, y1) for y0, y1 in spans(height, rows) for x0, x1 in spans(width, cols)]


def _to_arrays(result: DetectionResult, dx: float = 0.0, dy: float = 0.0, sx: float = 1.0,
               sy: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not result.detections:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    boxes = np.array([[d.x1, d.y1, d.x2, d.y2] for d in result.detections], np.float32)
    boxes = boxes * np.float32([sx, sy, sx, sy]) + np.float32([dx, dy, dx, dy])
    return boxes, np.array([d.score for d in result.detections], np.float32), np.array(
        [d.class_id for d in result.detections], np.int64)


def _suppress_contained(boxes: np.ndarray, scores: np.ndarray, keep: np.ndarray, ios: float) -> np.ndarray:
    """Drop a box whose area lies ``ios`` or more inside a higher-scoring kept box (part of a carton)."""
    kept: list[int] = []
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    for i in keep:
        if kept:
            k = np.asarray(kept)
            iw = np.clip(np.minimum(boxes[k, 2], boxes[i, 2]) - np.maximum(boxes[k, 0], boxes[i, 0]), 0, None)
            ih = np.clip(np.minimum(boxes[k, 3], boxes[i, 3]) - np.maximum(boxes[k, 1], boxes[i, 1]), 0, None)
            if ((iw * ih) / max(float(areas[i]), 1e-9) >= ios).any():
                continue
        kept.append(int(i))
    return np.asarray(kept, np.int64)


def _wants_tiles(result: DetectionResult, input_size: int, policy: TilingPolicy) -> bool:
    if policy.mode == "always":
        return True
    long_side = max(result.image_width, result.image_height)
    if long_side < policy.min_scale * input_size or len(result.detections) < policy.min_boxes:
        return False
    to_input = input_size / long_side
    sides = [min(d.x2 - d.x1, d.y2 - d.y1) * to_input for d in result.detections]
    return float(np.median(sides)) < policy.small_px


def detect_tiled(detector, image: np.ndarray | DecodedImage, *, conf: float | None = None,
                 policy: TilingPolicy | None = None) -> DetectionResult:
    """Full-frame pass plus tiles (per ``policy``; ``always`` with a 2x2 grid by default)."""
    policy = policy or TilingPolicy(mode="always")
    started = time.perf_counter()
    full = detector.detect(image, conf=conf)
    if policy.mode == "off":
        return full
    pixels = image.pixels if isinstance(image, DecodedImage) else image
    if not _wants_tiles(full, detector.input_size, policy):
        full.extra["tiles"] = 0
        return full
    # Decoded pixels may be smaller than the camera's frame; boxes are reported in the frame's pixels.
    sx, sy = full.image_width / pixels.shape[1], full.image_height / pixels.shape[0]
    parts = [_to_arrays(full)]
    windows = tile_windows(pixels.shape[1], pixels.shape[0], policy.rows, policy.cols, policy.overlap)
    for x0, y0, x1, y1 in windows:
        tile = np.ascontiguousarray(pixels[y0:y1, x0:x1])
        parts.append(_to_arrays(detector.detect(tile, conf=conf), x0 * sx, y0 * sy, sx, sy))
    boxes = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[1] for p in parts])
    class_ids = np.concatenate([p[2] for p in parts])
    keep = nms(boxes, scores, detector.iou, len(scores)) if len(scores) else np.zeros(0, np.int64)
    keep = _suppress_contained(boxes, scores, keep, 0.8)[: detector.max_det]
    detections = [Detection(*map(float, boxes[i]), float(scores[i]), int(class_ids[i])) for i in keep]
    return DetectionResult(
        detections=detections, image_width=full.image_width, image_height=full.image_height,
        inference_ms=(time.perf_counter() - started) * 1000, model_version=full.model_version,
        extra={**full.extra, "tiles": len(windows)},
    )
