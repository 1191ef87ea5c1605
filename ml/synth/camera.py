"""What the camera does to a scene: geometry (tilt, off-axis perspective, lens distortion) and
light and sensor (gradients, shadows, colour casts, grayscale and IR-like frames, blur, noise,
low resolution). JPEG quality is chosen by the writer.
"""

from __future__ import annotations

import cv2
import numpy as np


def geometry(rng: np.random.Generator, width: int, height: int, strength: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Remap tables (output pixel -> scene pixel) for a homography plus barrel/pincushion distortion.

    Returns (map_x, map_y, scale) where ``scale`` is the output/scene area ratio of the homography.
    """
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    dst = src + np.float32(rng.uniform(-strength, strength, (4, 2)) * [width, height])
    homography = cv2.getPerspectiveTransform(src, dst)
    inverse = np.linalg.inv(homography)
    k1 = rng.uniform(-0.25, 0.1) if rng.random() < 0.4 else 0.0
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if k1:
        cx, cy, f = width / 2, height / 2, max(width, height) / 2
        xn, yn = (xs - cx) / f, (ys - cy) / f
        factor = 1 + k1 * (xn * xn + yn * yn)
        xs, ys = xn * factor * f + cx, yn * factor * f + cy
    den = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
    map_x = ((inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / den).astype(np.float32)
    map_y = ((inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / den).astype(np.float32)
    scale = abs(float(cv2.contourArea(dst))) / float(width * height)
    return map_x, map_y, scale


def _soft_shadows(rng: np.random.Generator, img: np.ndarray) -> None:
    """Shadows of things outside the frame (racks, beams, people): soft dark polygons."""
    height, width = img.shape[:2]
    mask = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        pts = np.float32(rng.uniform(-0.2, 1.2, (4, 2)) * [width, height])
        cv2.fillConvexPoly(mask, pts.astype(np.int32), 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, width * rng.uniform(0.005, 0.04)))
    img *= (1 - rng.uniform(0.2, 0.55) * mask)[:, :, None]


def photometric(rng: np.random.Generator, img: np.ndarray, gray_p: float = 0.15) -> tuple[np.ndarray, str]:
    """Apply light and sensor effects to a float RGB image; returns (uint8 RGB, mode: colour|gray|ir)."""
    height, width = img.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    # Light falloff from a random point, and an overall gradient.
    cx, cy = rng.uniform(-0.2, 1.2) * width, rng.uniform(-0.3, 0.8) * height
    falloff = 1.0 - rng.uniform(0.1, 0.6) * (((xs - cx) / width) ** 2 + ((ys - cy) / height) ** 2)
    img *= np.clip(falloff, 0.2, 1.2)[:, :, None]
    if rng.random() < 0.3:
        _soft_shadows(rng, img)
    img *= rng.uniform(0.85, 1.15, 3).astype(np.float32)  # colour cast (white balance)
    img *= rng.uniform(0.55, 1.35)  # exposure
    mode = "colour"
    roll = rng.random()
    if roll < gray_p:
        mode = "gray"
        img[:] = (img @ np.float32([0.299, 0.587, 0.114]))[:, :, None]
    elif roll < gray_p + 0.08:
        # IR-like: cardboard and paper reflect near-IR strongly, blue-ish dyes look pale; an illuminator
        # hotspot in the middle and dark corners.
        mode = "ir"
        gray = img @ np.float32([0.55, 0.35, 0.10])
        spot = 1.4 - 0.9 * (((xs - width / 2) / width) ** 2 + ((ys - height / 2) / height) ** 2) * 2
        gray = gray * np.clip(spot, 0.2, 1.6) * rng.uniform(0.8, 1.3) + rng.uniform(-20, 20)
        img[:] = gray[:, :, None]
    # Contrast / gamma.
    img = np.clip(img, 0, 255)
    gamma = rng.uniform(0.7, 1.4)
    img = 255.0 * (img / 255.0) ** gamma
    # Optics and sensor.
    if rng.random() < 0.15:  # low-resolution camera
        factor = rng.uniform(0.3, 0.6)
        small = cv2.resize(img, (max(8, int(width * factor)), max(8, int(height * factor))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.12:  # motion blur
        k = int(rng.integers(3, 9))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0), (k, k))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    elif rng.random() < 0.6:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3))
    sigma = rng.uniform(1, 10 if mode == "ir" else 6)
    img = img + rng.normal(0, sigma, (height, width, 1 if mode != "colour" else 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), mode
