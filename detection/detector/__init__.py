"""The package detector: decode -> letterbox -> ONNX Runtime -> NMS. No Django imports, so ``ml/``,
benchmarks and the simulator use exactly the code path the product serves."""

from detection.detector.base import (
    Detection,
    DetectionResult,
    Detector,
    ImageRejected,
    ImageTooLarge,
    UndecodableImage,
)
from detection.detector.decode import DecodedImage, decode_image
from detection.detector.health import FaultThresholds, ImageHealth, assess_image
from detection.detector.onnx import DEFAULT_MODEL_PATH, OnnxDetector, load_detector

__all__ = [
    "DEFAULT_MODEL_PATH",
    "DecodedImage",
    "Detection",
    "DetectionResult",
    "Detector",
    "FaultThresholds",
    "ImageHealth",
    "ImageRejected",
    "ImageTooLarge",
    "OnnxDetector",
    "UndecodableImage",
    "assess_image",
    "decode_image",
    "load_detector",
]
