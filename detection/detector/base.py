"""The detector's shared types: a decoded image, its health, what a detector returns, and the errors an
uploaded image can raise. Every other detector module imports from here and this module imports none
of them, so the engine has no import circle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class DecodedImage:
    pixels: np.ndarray  # HxWx3 RGB uint8, possibly smaller than the original (reduced-size decode)
    original_width: int  # after EXIF orientation, before any reduced-size decode
    original_height: int


@dataclass(frozen=True, slots=True)
class FaultThresholds:
    """0 switches a check off."""

    min_side: int = 64  # pixels, shorter side of the original image
    dark_level: float = 12.0  # mean brightness 0-255 below this: too dark; above 255 minus it: too bright (if clipped)
    min_contrast: float = 6.0  # standard deviation of brightness below this: too uniform
    # Too bright needs a bright mean AND this share of the pixels clipped: white cartons on a white
    # backdrop are bright (mean 243) but keep their edges; the sun into the lens clips nearly all.
    # Measured: real frames brightened x12 clip 92-96 %; a white-on-white scene ~80 % at most.
    clipped_share: float = 0.9


@dataclass(frozen=True, slots=True)
class ImageHealth:
    brightness: float  # mean luma, 0-255
    contrast: float  # standard deviation of luma
    width: int  # original size (before any reduced-size decode)
    height: int
    fingerprint: str  # equal for pixel-identical frames: how a frozen camera shows
    clipped: float | None = None  # share of pixels at the sensor's ceiling (None: not measured, the mean decides)

    def fault(self, limits: FaultThresholds) -> str:
        """Why this frame cannot be counted, in words for the dashboard and alerts; "" when it can."""
        if limits.min_side and min(self.width, self.height) < limits.min_side:
            return f"Image too small ({self.width}×{self.height} px; at least {limits.min_side} px a side)"
        if limits.dark_level and self.brightness < limits.dark_level:
            return f"Image too dark (brightness {self.brightness:.0f} of 255): lens covered or lights off?"
        overexposed = self.clipped is None or self.clipped >= limits.clipped_share
        if limits.dark_level and self.brightness > 255 - limits.dark_level and overexposed:
            return f"Image too bright (brightness {self.brightness:.0f} of 255): sun or a lamp into the lens?"
        if limits.min_contrast and self.contrast < limits.min_contrast:
            return f"Image too uniform (contrast {self.contrast:.1f}): lens blocked, out of focus or blown out?"
        return ""


@dataclass(frozen=True, slots=True)
class Detection:
    """One box in ORIGINAL-image pixels (before any reduced-size decode), xyxy."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    class_id: int


@dataclass
class DetectionResult:
    detections: list[Detection]
    image_width: int
    image_height: int
    inference_ms: float  # pre-process + ONNX run + post-process; decoding is not included
    model_version: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # timings split: pre_ms, run_ms, post_ms
    # How usable the frame was (brightness, contrast, size, pixel fingerprint), when the caller checked.
    health: ImageHealth | None = None
    # Which model counted, set by the product's runtime (detection/serving/runtime.py): the ModelVersion id
    # (None: the bundled file) and its label for people.
    model_id: int | None = None
    model_label: str = ""

    @property
    def count(self) -> int:
        return len(self.detections)


class Detector(Protocol):
    input_size: int
    class_names: dict[int, str]

    def detect(self, image: np.ndarray | DecodedImage, *, conf: float | None = None) -> DetectionResult: ...


class ImageRejected(ValueError):
    """An upload the detector will not process; ``str(exc)`` is a message fit for an API ``detail``."""


class UndecodableImage(ImageRejected):
    """Not an image, an unsupported format, or a truncated/corrupt file (-> HTTP 400)."""


class ImageTooLarge(ImageRejected):
    """More pixels than allowed, detected from the header before pixels are decoded (-> HTTP 413)."""
