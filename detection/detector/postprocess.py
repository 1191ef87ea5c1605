"""YOLOv8 raw output (1, 4+nc, N) -> boxes in original-image pixels."""

from __future__ import annotations

import numpy as np

# Ultralytics' trick for class-aware NMS in one pass: shift each class's boxes far apart.
_CLASS_OFFSET = 7680.0
# Candidates kept before NMS (Ultralytics' max_nms); bounds the cost at conf=0.001.
MAX_CANDIDATES = 30_000


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int) -> np.ndarray:
    """Greedy NMS on xyxy boxes; returns kept indices, best score first, at most ``max_keep``."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        inter_w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        inter_h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = inter_w * inter_h
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def postprocess(
    output: np.ndarray,
    *,
    conf: float,
    iou: float,
    max_det: int,
    scale: float,
    pad: tuple[int, int],
    image_size: tuple[int, int],
    original_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (boxes Nx4 xyxy float32, scores N, class_ids N) in original-image pixels.

    ``image_size`` (w, h) is the image that was letterboxed; ``original_size`` (w, h) the camera's
    frame when it was decoded at reduced size (defaults to ``image_size``).
    """
    raw = output[0]  # (4+nc, N): rows are contiguous, so pick candidates before transposing
    class_scores = raw[4:]
    if len(class_scores) == 1:  # our single-class model: no argmax, no gather over N columns
        scores, class_ids = class_scores[0], np.zeros(raw.shape[1], np.int64)
    else:
        class_ids = class_scores.argmax(axis=0)
        scores = np.take_along_axis(class_scores, class_ids[None], axis=0)[0]
    mask = scores > conf
    if not mask.any():
        empty = np.zeros((0, 4), np.float32)
        return empty, np.zeros(0, np.float32), np.zeros(0, np.int64)
    preds, scores, class_ids = raw[:4, mask].T, scores[mask], class_ids[mask]
    if len(scores) > MAX_CANDIDATES:
        top = np.argsort(-scores)[:MAX_CANDIDATES]
        preds, scores, class_ids = preds[top], scores[top], class_ids[top]
    cx, cy, w, h = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keep = nms(boxes + (class_ids * _CLASS_OFFSET)[:, None], scores, iou, max_det)
    boxes, scores, class_ids = boxes[keep], scores[keep], class_ids[keep]
    boxes = rescale_boxes(boxes, scale=scale, pad=pad, image_size=image_size, original_size=original_size)
    return boxes.astype(np.float32), scores.astype(np.float32), class_ids.astype(np.int64)


def rescale_boxes(
    boxes: np.ndarray,
    *,
    scale: float,
    pad: tuple[int, int],
    image_size: tuple[int, int],
    original_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Letterboxed model pixels -> original-image pixels, clipped to the image."""
    out = boxes.astype(np.float64, copy=True)
    out[:, [0, 2]] = (out[:, [0, 2]] - pad[0]) / scale
    out[:, [1, 3]] = (out[:, [1, 3]] - pad[1]) / scale
    width, height = image_size
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    if original_size is not None and tuple(original_size) != (width, height):
        out[:, [0, 2]] *= original_size[0] / width
        out[:, [1, 3]] *= original_size[1] / height
    return out
