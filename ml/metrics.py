"""Detection and counting metrics, small enough to check by hand (tests/ml/test_metrics.py).

AP is COCO's: predictions matched greedily in score order to the best still-unmatched ground truth
with IoU >= t, precision made monotone, sampled at 101 recall points (0, 0.01, ..., 1) and averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
COUNT_BUCKETS: tuple[tuple[str, int, int], ...] = (("1-4", 1, 4), ("5-9", 5, 9), ("10-19", 10, 19),
                                                   ("20+", 20, 10**9))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of xyxy boxes a (N,4) and b (M,4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def match_image(pred_boxes: np.ndarray, pred_scores: np.ndarray, gt_boxes: np.ndarray,
                iou_thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """(n_pred, n_thr) bool: is prediction i a true positive at threshold t (COCO greedy matching)."""
    tp = np.zeros((len(pred_boxes), len(iou_thresholds)), dtype=bool)
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return tp
    ious = box_iou(pred_boxes, gt_boxes)
    order = np.argsort(-pred_scores, kind="stable")
    for t, threshold in enumerate(iou_thresholds):
        taken = np.zeros(len(gt_boxes), dtype=bool)
        for i in order:
            candidates = np.where(~taken & (ious[i] >= threshold))[0]
            if candidates.size:
                best = candidates[np.argmax(ious[i, candidates])]
                taken[best] = True
                tp[i, t] = True
    return tp


def average_precision(tp: np.ndarray, scores: np.ndarray, n_gt: int) -> float:
    """COCO 101-point AP for one IoU threshold over the whole dataset (tp: bool per prediction)."""
    if n_gt == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    order = np.argsort(-scores, kind="mergesort")
    tp_sorted = tp[order].astype(np.float64)
    tps, fps = np.cumsum(tp_sorted), np.cumsum(1 - tp_sorted)
    recall = tps / n_gt
    precision = tps / (tps + fps)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(sampled.mean())


@dataclass
class DetectionMetrics:
    precision: float
    recall: float
    map50: float
    map50_95: float
    ap_per_iou: list[float] = field(default_factory=list)


def detection_metrics(tp: np.ndarray, scores: np.ndarray, n_gt: int, conf: float) -> DetectionMetrics:
    """tp: (n_pred, 10) over all images, scores: (n_pred,). P/R use predictions with score > conf at IoU 0.5."""
    aps = [average_precision(tp[:, t], scores, n_gt) for t in range(tp.shape[1])]
    kept = scores > conf
    n_tp = int(tp[kept, 0].sum())
    n_pred = int(kept.sum())
    return DetectionMetrics(
        precision=n_tp / n_pred if n_pred else 0.0,
        recall=n_tp / n_gt if n_gt else 0.0,
        map50=aps[0],
        map50_95=float(np.mean(aps)),
        ap_per_iou=aps,
    )


def count_metrics(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Counting error of per-image counts: MAE, mean signed error (bias), exact and within-±1 rates."""
    predicted, actual = np.asarray(predicted), np.asarray(actual)
    if len(actual) == 0:
        return {"images": 0}
    error = predicted - actual
    return {
        "images": int(len(actual)),
        "mae": float(np.abs(error).mean()),
        "bias": float(error.mean()),
        "exact": float((error == 0).mean()),
        "within_1": float((np.abs(error) <= 1).mean()),
        "mean_true_count": float(actual.mean()),
    }


def count_metrics_by_bucket(predicted: np.ndarray, actual: np.ndarray) -> dict[str, dict[str, float]]:
    predicted, actual = np.asarray(predicted), np.asarray(actual)
    out = {"all": count_metrics(predicted, actual)}
    for name, low, high in COUNT_BUCKETS:
        mask = (actual >= low) & (actual <= high)
        out[name] = count_metrics(predicted[mask], actual[mask])
    return out
