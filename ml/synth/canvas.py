"""A colour image plus an object-ID buffer, and the shapes drawn into both.

Packages get ids 1, 2, ...; anything else (backgrounds, distractors) writes id 0 where it covers a
package, so occlusion is exact in painter's order. ``Canvas.full_area`` keeps each package's
unclipped, unoccluded area, from which the labeller works out how much of it stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ml.synth import textures

MAX_TEXTURE = 192  # faces are textured at most this many pixels a side, then warped to their quad


@dataclass
class Canvas:
    img: np.ndarray  # (H, W, 3) float32 RGB
    ids: np.ndarray = field(init=False)  # (H, W) int32, 0 = not a package
    full_area: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = np.zeros(self.img.shape[:2], np.int32)

    @property
    def width(self) -> int:
        return self.img.shape[1]

    @property
    def height(self) -> int:
        return self.img.shape[0]

    def new_package(self) -> int:
        package_id = len(self.full_area) + 1
        self.full_area[package_id] = 0.0
        return package_id


def _roi(canvas: Canvas, pts: np.ndarray) -> tuple[int, int, int, int] | None:
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, canvas.width), min(y1, canvas.height)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1, y1


def _covered(canvas: Canvas, pts: np.ndarray, object_id: int, convex: bool) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Count a package's unclipped area, then its (ROI, boolean mask) in the frame; None when off-frame."""
    if object_id:
        canvas.full_area[object_id] += abs(float(cv2.contourArea(pts)))
    roi = _roi(canvas, pts)
    if roi is None:
        return None
    x0, y0, x1, y1 = roi
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = np.round(pts - np.float32([x0, y0])).astype(np.int32)
    if convex:
        cv2.fillConvexPoly(mask, local, 1)
    else:
        cv2.fillPoly(mask, [local], 1)
    return roi, mask.astype(bool)


def fill_poly(canvas: Canvas, pts: np.ndarray, colour, object_id: int = 0, rng: np.random.Generator | None = None,
              noise: float = 0.0, alpha: float = 1.0) -> None:
    """Fill a polygon with a colour (times multiplicative noise of strength ``noise``); mark it in the ID buffer."""
    covered = _covered(canvas, np.asarray(pts, np.float32), object_id, convex=False)
    if covered is None:
        return
    (x0, y0, x1, y1), m = covered
    patch = canvas.img[y0:y1, x0:x1]
    value = np.asarray(colour, np.float32)
    if noise and rng is not None:
        value = value * textures.noise_patch(rng, x1 - x0, y1 - y0, noise)[m][:, None]
    patch[m] = value if alpha >= 1 else patch[m] * (1 - alpha) + value * alpha
    if alpha >= 1:
        canvas.ids[y0:y1, x0:x1][m] = object_id


def fill_quad_texture(canvas: Canvas, quad: np.ndarray, tex: np.ndarray, object_id: int = 0) -> None:
    """Warp a (h, w, 3) texture onto a convex quad (corners TL, TR, BR, BL) and mark its pixels."""
    quad = np.asarray(quad, np.float32)
    covered = _covered(canvas, quad, object_id, convex=True)
    if covered is None:
        return
    (x0, y0, x1, y1), m = covered
    local = quad - np.float32([x0, y0])
    th, tw = tex.shape[:2]
    src = np.float32([[0, 0], [tw, 0], [tw, th], [0, th]])
    warped = cv2.warpPerspective(tex, cv2.getPerspectiveTransform(src, local), (x1 - x0, y1 - y0),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    canvas.img[y0:y1, x0:x1][m] = warped[m]
    canvas.ids[y0:y1, x0:x1][m] = object_id


def texture_size(quad: np.ndarray) -> tuple[int, int]:
    """Texture (w, h) for a quad: its edge lengths, capped."""
    w = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
    h = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]))
    scale = min(1.0, MAX_TEXTURE / max(w, h, 1.0))
    return max(2, int(w * scale)), max(2, int(h * scale))


def outline(canvas: Canvas, quad: np.ndarray, colour, thickness: int) -> None:
    cv2.polylines(canvas.img, [np.round(quad).astype(np.int32)], True, np.asarray(colour, float).tolist(),
                  thickness, cv2.LINE_AA)


def rotate(points: np.ndarray, centre: np.ndarray, degrees: float) -> np.ndarray:
    theta = np.deg2rad(degrees)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], np.float32)
    return (points - centre) @ rot.T + centre


def shadow(canvas: Canvas, pts: np.ndarray, strength: float, blur: float) -> None:
    """Darken a soft polygon (a cast or contact shadow) without touching the ID buffer."""
    roi = _roi(canvas, np.vstack([pts - blur * 3, pts + blur * 3]))
    if roi is None:
        return
    x0, y0, x1, y1 = roi
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillPoly(mask, [np.round(pts - [x0, y0]).astype(np.int32)], 1.0)
    if blur > 0.5:
        mask = cv2.GaussianBlur(mask, (0, 0), blur)
    canvas.img[y0:y1, x0:x1] *= (1.0 - strength * mask)[:, :, None]
