"""Camera FAULT rules: is this frame countable, given its image checks and the frames before it?

The image checks themselves are in detection.detector.health (no Django); the thresholds come from
settings (CAMERA_FAULT_*), and "frozen" needs the camera's state: the same pixels N frames in a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from detection.detector import FaultThresholds, ImageHealth
from detection.stock.models import StockState


@dataclass(frozen=True)
class FrameVerdict:
    fault: str  # why the frame cannot be counted; "" when it can
    fingerprint: str
    same_frame_count: int  # frames in a row with this fingerprint, this one included


def fault_thresholds() -> FaultThresholds:
    return FaultThresholds(min_side=settings.CAMERA_FAULT_MIN_SIDE, dark_level=settings.CAMERA_FAULT_DARK_LEVEL,
                           min_contrast=settings.CAMERA_FAULT_MIN_CONTRAST)


def frame_verdict(*, health: ImageHealth | None, state: StockState) -> FrameVerdict:
    """Without image checks (a caller that did not look at the pixels) the frame counts."""
    if health is None:
        return FrameVerdict(fault="", fingerprint="", same_frame_count=0)
    same = state.same_frame_count + 1 if health.fingerprint == state.last_frame_fingerprint else 1
    fault = health.fault(fault_thresholds())
    frozen_after = settings.CAMERA_FAULT_FROZEN_FRAMES
    if not fault and frozen_after and same >= frozen_after:
        # A live sensor never repeats a frame bit for bit: its noise alone changes pixels.
        fault = f"Image unchanged for {same} frames: camera frozen?"
    return FrameVerdict(fault=fault, fingerprint=health.fingerprint, same_frame_count=same)
