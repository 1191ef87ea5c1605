"""One synthetic sample from one seed: pick a scene, draw it, label what stays visible, film it.

A package is labelled when at least ``MIN_VISIBLE`` of its drawn area (unclipped, before anything
covers it) is still visible in the final frame; its box is the extent of its visible pixels after
the camera's warp, as a human labeller would draw it. Distractors are never labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ml.synth import camera, scenes, textures
from ml.synth.canvas import Canvas
from ml.synth.objects import Light

MIN_VISIBLE = 0.3
MIN_BOX_PX = 4
SIZES = ((640, 480), (640, 360), (480, 640), (640, 640), (640, 512), (512, 384))
SCENES = ("pallets", "rack", "pile", "catalogue", "doorstep", "topdown", "negative", "random")
SCENE_P = (0.24, 0.18, 0.16, 0.14, 0.08, 0.1, 0.04, 0.06)
# Seeds at or above this are reserved for held-out evaluation sets (ml.evaluate's "synth" set).
EVAL_SEED_BASE = 10_000_000


@dataclass
class Sample:
    rgb: np.ndarray  # (H, W, 3) uint8
    boxes: np.ndarray  # (n, 4) xyxy pixels
    scene: str
    mode: str  # colour | gray | ir
    quality: int  # JPEG quality to write with

    def yolo_lines(self) -> list[str]:
        height, width = self.rgb.shape[:2]
        lines = []
        for x1, y1, x2, y2 in self.boxes:
            lines.append(f"0 {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                         f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
        return lines


def _draw(rng: np.random.Generator, scene: str, width: int, height: int) -> Canvas:
    light = Light.random(rng)
    if scene == "catalogue":
        colour = np.full(3, rng.uniform(225, 252), np.float32) if rng.random() < 0.6 else rng.uniform(60, 240, 3)
        canvas = Canvas(textures.plain_background(rng, width, height, np.float32(colour)))
        scenes.scene_catalogue(canvas, rng, light)
    elif scene == "topdown":
        canvas = Canvas(scenes.floor(rng, width, height))
        scenes.scene_topdown(canvas, rng, light)
    elif scene == "rack":
        image, _ = scenes.warehouse(rng, width, height)
        canvas = Canvas(image)
        scenes.scene_rack(canvas, rng, light)
    elif scene == "doorstep":
        image, horizon = scenes.doorstep_background(rng, width, height)
        canvas = Canvas(image)
        scenes.scene_doorstep(canvas, rng, light, horizon)
    elif scene == "random":  # domain randomisation: any texture under a floor pile
        canvas = Canvas(textures.random_texture(rng, width, height))
        scenes.scene_pile(canvas, rng, light, int(height * rng.uniform(0, 0.5)))
    else:
        image, horizon = scenes.warehouse(rng, width, height)
        if scene == "pile" and rng.random() < 0.4:
            image, horizon = scenes.floor(rng, width, height), int(height * rng.uniform(0, 0.3))
        canvas = Canvas(image)
        if scene == "pallets":
            scenes.scene_pallets(canvas, rng, light, horizon)
        elif scene == "pile":
            scenes.scene_pile(canvas, rng, light, horizon)
        else:
            scenes.scene_negative(canvas, rng, horizon)
    return canvas


def _visible_boxes(ids: np.ndarray, keep: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """xyxy extent of each kept id's pixels in ``ids``, if enough of it (``expected`` px) is in frame."""
    ys, xs = np.nonzero(ids)
    labels = ids[ys, xs]
    n = len(keep)
    count = np.bincount(labels, minlength=n)
    x1 = np.full(n, np.inf)
    y1 = np.full(n, np.inf)
    x2 = np.full(n, -np.inf)
    y2 = np.full(n, -np.inf)
    np.minimum.at(x1, labels, xs)
    np.minimum.at(y1, labels, ys)
    np.maximum.at(x2, labels, xs)
    np.maximum.at(y2, labels, ys)
    ok = keep & (count >= 0.5 * expected) & (x2 - x1 + 1 >= MIN_BOX_PX) & (y2 - y1 + 1 >= MIN_BOX_PX)
    return np.stack([x1[ok], y1[ok], x2[ok] + 1, y2[ok] + 1], axis=1).astype(np.float32).reshape(-1, 4)


def film(canvas: Canvas, map_x: np.ndarray, map_y: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Warp the scene through the camera's remap tables; returns (float image, xyxy labels).

    Labelled: packages of which ``MIN_VISIBLE`` of the drawn area is visible in the scene, that stay
    mostly in frame after the warp; each box is the extent of its visible pixels in the output.
    """
    n = len(canvas.full_area) + 1
    visible = np.bincount(canvas.ids.ravel(), minlength=n).astype(np.float64)
    full = np.array([1.0] + [canvas.full_area[k] for k in range(1, n)])
    keep = visible / np.maximum(full, 1.0) >= MIN_VISIBLE
    keep[0] = False
    img = cv2.remap(canvas.img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    ids = cv2.remap(canvas.ids.astype(np.float32), map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0).astype(np.int32)
    return img, _visible_boxes(ids, keep, visible * scale)


def render_sample(seed: int, scene: str | None = None, size: tuple[int, int] | None = None) -> Sample:
    rng = np.random.default_rng(seed)
    scene = scene or str(rng.choice(SCENES, p=SCENE_P))
    width, height = size or SIZES[int(rng.integers(len(SIZES)))]
    canvas = _draw(rng, scene, width, height)
    strength = {"rack": 0.12, "topdown": 0.06, "catalogue": 0.04}.get(scene, 0.08)
    img, boxes = film(canvas, *camera.geometry(rng, width, height, strength))
    gray_p = 0.5 if scene == "topdown" else 0.15
    rgb, mode = camera.photometric(rng, img, gray_p)
    return Sample(rgb, boxes, scene, mode, int(rng.integers(35, 96)))
