"""The package detector: decode -> letterbox -> ONNX Runtime -> NMS. No Django imports, so ``ml/``,
benchmarks and the simulator use exactly the code path the product serves.

base.py holds the shared types (every other module imports from it, it imports none of them);
decode, preprocess, onnx, postprocess, tiling and health are the stages; files.py and site_data.py
are the file helpers ``ml/`` and the product share (hashing, image suffixes, corrected labels).

ONNX Runtime's usage telemetry is off for every process that imports this package (unless
ORT_DISABLE_TELEMETRY is set otherwise). The onnxruntime 1.32 we ship, imported as is, writes a
usage database in ~/.cache/Microsoft/DeveloperTools, and a process using it looked up
mobile.events.data.microsoft.com within a minute (strace: DNS queries from short-lived threads).
A self-hosted inventory system must not call out. The variable counts only when onnxruntime is
first imported: hence here, before onnx.py imports it.
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from detection.detector.base import (  # after the telemetry switch, on purpose
    DecodedImage,
    Detection,
    DetectionResult,
    Detector,
    FaultThresholds,
    ImageHealth,
    ImageRejected,
    ImageTooLarge,
    UndecodableImage,
)
from detection.detector.decode import decode_image
from detection.detector.health import assess_image
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
