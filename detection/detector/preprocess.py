"""Letterbox exactly like Ultralytics (same size rule, centred padding of 114), so our accuracy
matches ``yolo val``."""

from __future__ import annotations

import cv2
import numpy as np

PAD_VALUE = 114


def letterbox_geometry(width: int, height: int, size: int) -> tuple[float, tuple[int, int], tuple[int, int]]:
    """Return (scale, (new_w, new_h), (pad_left, pad_top)) for fitting width x height into size x size."""
    scale = min(size / width, size / height)
    new_w, new_h = max(round(width * scale), 1), max(round(height * scale), 1)
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    # Ultralytics' rounding: an odd padding puts the extra pixel on the right/bottom.
    return scale, (new_w, new_h), (round(dw - 0.1), round(dh - 0.1))


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """RGB uint8 HxWx3 -> (float32 1x3xSxS in [0,1], scale, (pad_x, pad_y)).

    A box in model pixels maps back with ``(x - pad_x) / scale``. Downscaling uses INTER_AREA (what
    Ultralytics' dataset loader uses for val, and it averages instead of skipping pixels on big
    camera frames); upscaling uses INTER_LINEAR like Ultralytics.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got shape {image.shape} dtype {image.dtype}")
    height, width = image.shape[:2]
    scale, (new_w, new_h), (pad_x, pad_y) = letterbox_geometry(width, height, size)
    if (new_w, new_h) != (width, height):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = image
    tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(1 / 255)
    return np.ascontiguousarray(tensor), scale, (pad_x, pad_y)
