"""What a detector returns, and the errors an uploaded image can raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from detection.detector.decode import DecodedImage
    from detection.detector.health import ImageHealth


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
    # Which model counted, set by the product's runtime (detection/runtime.py): the ModelVersion id
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
