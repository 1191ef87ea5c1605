"""Can this frame be counted at all? A covered lens (black), a lamp or the sun into the lens (white),
a fogged lens or a camera staring at a wall (uniform), a thumbnail-sized image, or a frozen camera (the same pixels again and again) all
come back from the detector as "0 packages", which would read as a stock-out. These checks tell a
blind camera from an empty shelf, on the decoded pixels, in well under a millisecond.

No Django: thresholds are passed in (the product takes them from settings).
"""

from __future__ import annotations

import hashlib

import numpy as np

# The types live in base.py (shared by decode, health and the detectors: no import circle).
from detection.detector.base import DecodedImage, ImageHealth

# ITU-R BT.601 luma weights: brightness as people (and cameras' exposure) see it.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Statistics on every 4th pixel per axis: the same answer for camera frames, 16x fewer pixels.
_STRIDE = 4
# A pixel this bright (luma, after JPEG noise) has hit the sensor's ceiling: its detail is gone.
CLIPPED_LEVEL = 250


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
