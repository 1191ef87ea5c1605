"""The evaluator's numbers against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ml.metrics import (
    IOU_THRESHOLDS,
    average_precision,
    box_iou,
    count_metrics,
    count_metrics_by_bucket,
    detection_metrics,
    match_image,
)


def test_iou_of_hand_made_boxes():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 6], [5, 5, 15, 15], [20, 20, 30, 30]], float)
    assert np.allclose(box_iou(a, b), [[0.6, 25 / 175, 0.0]])


def test_a_box_with_iou_0_6_is_a_true_positive_up_to_threshold_0_6_only():
    tp = match_image(np.array([[0, 0, 10, 6]], float), np.array([0.9]), np.array([[0, 0, 10, 10]], float))
    assert tp[0].tolist() == [t <= 0.6 for t in IOU_THRESHOLDS]


def test_second_prediction_on_the_same_object_is_a_false_positive():
    preds = np.array([[0, 0, 10, 10], [0, 0, 10, 9.5]], float)
    tp = match_image(preds, np.array([0.6, 0.9]), np.array([[0, 0, 10, 10]], float))
    # The higher score is matched first, even though the other box fits better.
    assert tp[:, 0].tolist() == [False, True]


def test_coco_101_point_ap_by_hand():
    # 2 objects; ranked TP, FP, TP -> recall .5 .5 1, precision 1 .5 .667; envelope 1 .667 .667.
    # Recall points 0..0.50 (51 of them) read 1.0, points 0.51..1.00 (50) read 2/3.
    ap = average_precision(np.array([True, False, True]), np.array([0.9, 0.8, 0.7]), n_gt=2)
    assert ap == pytest.approx((51 * 1.0 + 50 * 2 / 3) / 101)
    # A missed object caps recall at 0.5: points above it read 0.
    assert average_precision(np.array([True]), np.array([0.9]), n_gt=2) == pytest.approx(51 / 101)
    assert average_precision(np.zeros(0, bool), np.zeros(0), n_gt=3) == 0.0


def test_precision_recall_use_only_predictions_above_the_serving_conf():
    tp = np.zeros((4, 10), bool)
    tp[[0, 2], 0] = True  # TP at IoU .5 for predictions 0 and 2
    scores = np.array([0.9, 0.8, 0.5, 0.1])
    m = detection_metrics(tp, scores, n_gt=4, conf=0.3)
    assert (m.precision, m.recall) == (pytest.approx(2 / 3), 0.5)
    assert m.map50_95 == pytest.approx(np.mean(m.ap_per_iou))


def test_count_error_overall_and_per_bucket():
    predicted, actual = np.array([3, 5, 10, 25]), np.array([3, 4, 12, 20])  # errors 0, +1, -2, +5
    m = count_metrics(predicted, actual)
    assert (m["mae"], m["bias"], m["exact"], m["within_1"]) == (2.0, 1.0, 0.25, 0.5)
    buckets = count_metrics_by_bucket(predicted, actual)
    assert buckets["1-4"]["mae"] == 0.5 and buckets["10-19"]["mae"] == 2.0 and buckets["20+"]["mae"] == 5.0
    assert buckets["5-9"] == {"images": 0}
