"""Can this frame be counted at all? A covered lens (black), a lamp or the sun into the lens (white),
a fogged lens or a camera staring at a wall (uniform), a thumbnail-sized image, or a frozen camera (the same pixels again and again) all
come back from the detector as "0 packages", which would read as a stock-out. These checks tell a
blind camera from an empty shelf, on the decoded pixels, in well under a millisecond.

No Django: thresholds are passed in (the product takes them from settings).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from detection.detector.decode import DecodedImage

# ITU-R BT.601 luma weights: brightness as people (and cameras' exposure) see it.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Statistics on every 4th pixel per axis: the same answer for camera frames, 16x fewer pixels.
_STRIDE = 4
# A pixel this bright (luma, after JPEG noise) has hit the sensor's ceiling: its detail is gone.
CLIPPED_LEVEL = 250


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


def assess_image(image: DecodedImage) -> ImageHealth:
    pixels = image.pixels
    sample = pixels[::_STRIDE, ::_STRIDE].astype(np.float32) @ _LUMA
    return ImageHealth(
        brightness=float(sample.mean()),
        contrast=float(sample.std()),
        width=image.original_width,
        height=image.original_height,
        fingerprint=hashlib.blake2b(np.ascontiguousarray(pixels).data, digest_size=16).hexdigest(),
        clipped=float((sample >= CLIPPED_LEVEL).mean()),
    )
