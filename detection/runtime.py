"""The process-wide detector, configured from settings (the detector package itself has no Django)."""

from __future__ import annotations

import functools
import logging
import threading

from django.conf import settings

from detection.detector import OnnxDetector, load_detector
from detection.detector.tiling import TilingPolicy

logger = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The ONNX model is missing or cannot be loaded; the API answers 503."""


def get_detector() -> OnnxDetector:
    """Load once per process (load_detector is cached), warmed up, shared by all threads."""
    try:
        return load_detector(
            str(settings.MODEL_PATH),
            conf=settings.DETECTOR_CONFIDENCE,
            iou=settings.DETECTOR_IOU,
            max_det=settings.DETECTOR_MAX_DETECTIONS,
            threads=settings.DETECTOR_THREADS,
        )
    except Exception as exc:  # onnxruntime raises its own exception types; all mean "no model"
        logger.error("detector unavailable: %s: %s", settings.MODEL_PATH, exc)
        raise ModelUnavailable(f"The detection model could not be loaded ({settings.MODEL_PATH.name}).") from exc


def detector_ready() -> bool:
    try:
        get_detector()
    except ModelUnavailable:
        return False
    return True


@functools.cache
def tiling_policy() -> TilingPolicy:
    """DETECTOR_TILING as a policy; an unknown value is a configuration error at the first frame."""
    return TilingPolicy(mode=settings.DETECTOR_TILING)


@functools.cache
def _slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(settings.DETECTOR_CONCURRENCY)


def detect_slot() -> threading.BoundedSemaphore:
    """Held while a frame is decoded and detected; `with detect_slot(): ...`."""
    return _slots()
