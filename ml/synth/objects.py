"""Things in a scene: cartons and mailers (packages, labelled) and distractors (not packages).

Coordinates are pixels of the canvas. A carton is a front rectangle plus a receding depth vector
(``dx``, ``dy``: ``dy < 0`` shows the top face, ``dx > 0`` the right side, ``dx < 0`` the left),
optionally rotated in the image plane; faces are textured (cardboard, print, tape, label) and lit
by a per-scene light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ml.synth import textures
from ml.synth.canvas import Canvas, fill_poly, fill_quad_texture, outline, rotate, texture_size

CARTON_KINDS = ("kraft", "white", "printed", "coloured")
CARTON_P = (0.58, 0.2, 0.15, 0.07)


@dataclass(frozen=True)
class Light:
    """Brightness multipliers of the three visible faces, and a global tint."""
    top: float
    front: float
    side: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Light":
        front = rng.uniform(0.75, 1.05)
        return cls(top=front * rng.uniform(1.0, 1.3), front=front, side=front * rng.uniform(0.55, 0.9))


def _face_texture(rng: np.random.Generator, quad: np.ndarray, colour: np.ndarray, kind: str, role: str,
                  taped: bool, labelled: bool) -> np.ndarray:
    w, h = texture_size(quad)
    tex = textures.surface(rng, w, h, colour)
    if kind == "printed" and role != "top" and rng.random() < 0.85:
        textures.add_print(rng, tex)
    if taped and role == "top":
        textures.add_tape(rng, tex, colour, "v")
    if taped and role == "front" and rng.random() < 0.6:  # the tape wraps over the front edge
        strip = tex[: max(1, int(h * rng.uniform(0.1, 0.3)))]
        textures.add_tape(rng, strip, colour, "v")
    if labelled and role == "front":
        textures.add_label(rng, tex)
    return tex


def carton(canvas: Canvas, rng: np.random.Generator, x: float, y: float, w: float, h: float, dx: float, dy: float,
           light: Light, kind: str | None = None, angle: float = 0.0, colour: np.ndarray | None = None,
           label: bool = True) -> int:
    """Draw one carton; returns its package id."""
    kind = kind or str(rng.choice(CARTON_KINDS, p=CARTON_P))
    if colour is None:
        colour = textures.carton_colour(rng, "kraft" if kind == "printed" and rng.random() < 0.6 else
                                        ("white" if kind == "printed" else kind))
    taped = rng.random() < 0.75 and kind != "coloured"
    labelled = label and rng.random() < 0.4
    tl, tr, br, bl = np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    d = np.float32([dx, dy])
    quads: list[tuple[str, np.ndarray, float]] = [("front", np.stack([tl, tr, br, bl]), light.front)]
    if dy < -0.5:
        quads.append(("top", np.stack([tl + d, tr + d, tr, tl]), light.top))
    if dx > 0.5:
        quads.append(("side", np.stack([tr, tr + d, br + d, br]), light.side))
    elif dx < -0.5:
        quads.append(("side", np.stack([tl + d, tl, bl, bl + d]), light.side))
    if angle:
        centre = np.float32([x + w / 2, y + h / 2])
        quads = [(role, rotate(q, centre, angle), shade) for role, q, shade in quads]
    package = canvas.new_package()
    edge_colour = colour * rng.uniform(0.35, 0.7)
    thickness = 1 if max(w, h) < 80 or rng.random() < 0.5 else 2
    draw_edges = rng.random() < 0.8
    for role, quad, shade in quads:
        tex = _face_texture(rng, quad, colour, kind, role, taped, labelled) * shade
        fill_quad_texture(canvas, quad, np.clip(tex, 0, 255), package)
        if draw_edges:
            outline(canvas, quad, edge_colour, thickness)
    return package


def mailer(canvas: Canvas, rng: np.random.Generator, cx: float, cy: float, w: float, h: float, angle: float,
           light: Light) -> int:
    """A padded envelope or poly mailer lying flat: a soft, crumpled rounded rectangle with a label."""
    colours = [np.array([235, 235, 235]), np.array([180, 180, 185]), np.array([235, 215, 120]),
               np.array([200, 160, 110]), np.array([60, 90, 170]), np.array([220, 150, 180]), np.array([40, 40, 45])]
    colour = colours[int(rng.integers(len(colours)))].astype(np.float32) * light.front
    cut = min(w, h) * rng.uniform(0.05, 0.15)
    pts = np.float32([[-w / 2 + cut, -h / 2], [w / 2 - cut, -h / 2], [w / 2, -h / 2 + cut], [w / 2, h / 2 - cut],
                      [w / 2 - cut, h / 2], [-w / 2 + cut, h / 2], [-w / 2, h / 2 - cut], [-w / 2, -h / 2 + cut]])
    pts = rotate(pts, np.zeros(2, np.float32), angle) + np.float32([cx, cy])
    package = canvas.new_package()
    fill_poly(canvas, pts, np.clip(colour, 0, 255), package, rng=rng, noise=rng.uniform(2, 5))
    if rng.random() < 0.7:  # label in the middle
        lw, lh = w * rng.uniform(0.3, 0.5), h * rng.uniform(0.25, 0.4)
        lab = rotate(np.float32([[-lw / 2, -lh / 2], [lw / 2, -lh / 2], [lw / 2, lh / 2], [-lw / 2, lh / 2]]),
                     np.zeros(2, np.float32), angle) + np.float32([cx, cy])
        tex = np.full((max(2, int(lh)), max(2, int(lw)), 3), 240, np.float32)
        textures.add_label(rng, tex)
        fill_quad_texture(canvas, lab, tex * light.front, package)
    outline(canvas, pts, colour * 0.7, 1)
    return package


# --- distractors: drawn with id 0, so they hide packages behind them and are never labelled -------------

def _cylinder_texture(rng: np.random.Generator, w: int, h: int, colour: np.ndarray) -> np.ndarray:
    profile = 0.55 + 0.5 * np.cos(np.linspace(-1.3, 1.3, max(2, w), dtype=np.float32))
    tex = np.empty((max(2, h), max(2, w), 3), np.float32)
    tex[:] = colour
    tex *= profile[None, :, None]
    for k in range(int(rng.integers(0, 4))):  # ribs
        y = int(h * (k + 1) / 4)
        tex[max(0, y - 1):y + 1] *= 0.8
    return tex


def barrel(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    w, h = size * rng.uniform(0.6, 1.0), size * rng.uniform(0.9, 1.6)
    colour = np.float32(rng.choice([[30, 60, 160], [170, 30, 30], [25, 25, 25], [130, 130, 135], [30, 120, 50],
                                    [220, 220, 215]]))
    quad = np.float32([[cx - w / 2, bottom - h], [cx + w / 2, bottom - h], [cx + w / 2, bottom], [cx - w / 2, bottom]])
    fill_quad_texture(canvas, quad, _cylinder_texture(rng, int(w), int(h), colour))
    ell = cv2.ellipse2Poly((int(cx), int(bottom - h)), (int(w / 2), max(1, int(w * 0.15))), 0, 0, 360, 10)
    fill_poly(canvas, ell.astype(np.float32), colour * 1.15)


def bin_(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    w, h = size * rng.uniform(0.7, 1.1), size * rng.uniform(1.0, 1.5)
    colour = np.float32(rng.choice([[40, 40, 45], [20, 90, 40], [30, 70, 150], [200, 60, 30], [150, 150, 150]]))
    body = np.float32([[cx - w / 2, bottom - h], [cx + w / 2, bottom - h], [cx + w * 0.42, bottom],
                       [cx - w * 0.42, bottom]])
    fill_poly(canvas, body, colour, rng=rng, noise=1.0)
    lid = np.float32([[cx - w * 0.55, bottom - h - h * 0.08], [cx + w * 0.55, bottom - h - h * 0.08],
                      [cx + w * 0.55, bottom - h], [cx - w * 0.55, bottom - h]])
    fill_poly(canvas, lid, colour * 0.8)


def _blob(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    radius = 1 + 0.5 * np.convolve(rng.normal(0, 0.25, 28), np.ones(5) / 5, mode="same")
    return np.stack([cx + rx * radius * np.cos(angles), cy + ry * radius * np.sin(angles)], 1).astype(np.float32)


def bag(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    """Bin bags, shopping bags (paper bags are kraft-coloured: a hard negative), sacks."""
    style = rng.integers(3)
    if style == 0:  # plastic bin bag: a glossy blob
        rx, ry = size * rng.uniform(0.4, 0.7), size * rng.uniform(0.4, 0.7)
        colour = np.float32(rng.choice([[25, 25, 28], [230, 230, 230], [40, 90, 40], [60, 60, 140]]))
        pts = _blob(rng, cx, bottom - ry, rx, ry)
        fill_poly(canvas, pts, colour, rng=rng, noise=6.0)
        cv2.ellipse(canvas.img, (int(cx - rx * 0.3), int(bottom - ry * 1.4)), (max(1, int(rx * 0.2)), max(1, int(ry * 0.08))),
                    -30, 0, 360, (colour * 0.5 + 120).tolist(), -1)
    elif style == 1:  # paper or plastic shopping bag with handles
        w, h = size * rng.uniform(0.5, 0.8), size * rng.uniform(0.6, 1.0)
        colour = textures.carton_colour(rng, "kraft") if rng.random() < 0.5 else np.float32(
            rng.choice([[230, 230, 230], [200, 40, 40], [40, 40, 40]]))
        body = np.float32([[cx - w / 2, bottom - h], [cx + w / 2, bottom - h], [cx + w * 0.52, bottom],
                           [cx - w * 0.52, bottom]])
        fill_poly(canvas, body, colour, rng=rng, noise=2.0)
        for side in (-1, 1):
            cv2.ellipse(canvas.img, (int(cx + side * w * 0.18), int(bottom - h)), (max(1, int(w * 0.12)), max(1, int(h * 0.25))),
                        0, 180, 360, (colour * 0.6).tolist(), max(1, int(size / 40)))
        # crumpled folds: vertical creases
        for _ in range(3):
            x = cx + rng.uniform(-0.4, 0.4) * w
            cv2.line(canvas.img, (int(x), int(bottom - h)), (int(x + rng.uniform(-5, 5)), int(bottom)),
                     (colour * 0.8).tolist(), 1)
    else:  # sack (grain, cement): rounded, woven texture
        w, h = size * rng.uniform(0.6, 1.0), size * rng.uniform(0.8, 1.2)
        colour = np.float32(rng.choice([[210, 200, 170], [235, 235, 230], [150, 160, 120]]))
        pts = _blob(rng, cx, bottom - h / 2, w / 2, h / 2)
        fill_poly(canvas, pts, colour, rng=rng, noise=3.0)
        if rng.random() < 0.5:
            textures.put_text(canvas.img, "".join(rng.choice(list(textures.LETTERS), 4)),
                              (int(cx - w / 3), int(bottom - h / 2)), 0, max(0.3, w / 120), (40, 40, 40), 1)


def furniture(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    """A table, a chair or a metal cabinet (a box-like shape that is not a package)."""
    style = rng.integers(3)
    wood = np.float32(rng.choice([[120, 80, 45], [90, 60, 35], [200, 190, 170], [60, 60, 65]]))
    if style == 0:  # table
        w, h = size * rng.uniform(1.2, 2.2), size * rng.uniform(0.7, 1.0)
        fill_poly(canvas, np.float32([[cx - w / 2, bottom - h], [cx + w / 2, bottom - h],
                                      [cx + w / 2, bottom - h * 0.9], [cx - w / 2, bottom - h * 0.9]]), wood)
        for lx in (cx - w * 0.45, cx + w * 0.4):
            fill_poly(canvas, np.float32([[lx, bottom - h * 0.9], [lx + w * 0.05, bottom - h * 0.9],
                                          [lx + w * 0.05, bottom], [lx, bottom]]), wood * 0.8)
    elif style == 1:  # chair
        w, h = size * rng.uniform(0.5, 0.7), size * rng.uniform(1.0, 1.4)
        fill_poly(canvas, np.float32([[cx - w / 2, bottom - h], [cx - w / 2 + w * 0.12, bottom - h],
                                      [cx - w / 2 + w * 0.12, bottom], [cx - w / 2, bottom]]), wood * 0.9)
        fill_poly(canvas, np.float32([[cx - w / 2, bottom - h * 0.5], [cx + w / 2, bottom - h * 0.5],
                                      [cx + w / 2, bottom - h * 0.43], [cx - w / 2, bottom - h * 0.43]]), wood)
        fill_poly(canvas, np.float32([[cx + w * 0.4, bottom - h * 0.45], [cx + w / 2, bottom - h * 0.45],
                                      [cx + w / 2, bottom], [cx + w * 0.4, bottom]]), wood * 0.8)
    else:  # cabinet / locker
        w, h = size * rng.uniform(0.8, 1.4), size * rng.uniform(1.8, 3.0)
        metal = np.float32(rng.choice([[150, 155, 160], [90, 100, 110], [200, 200, 195], [60, 90, 130]]))
        body = np.float32([[cx - w / 2, bottom - h], [cx + w / 2, bottom - h], [cx + w / 2, bottom], [cx - w / 2, bottom]])
        fill_poly(canvas, body, metal, rng=rng, noise=0.5)
        cv2.line(canvas.img, (int(cx), int(bottom - h)), (int(cx), int(bottom)), (metal * 0.6).tolist(), 1)
        for side in (-1, 1):
            cv2.rectangle(canvas.img, (int(cx + side * w * 0.08), int(bottom - h * 0.55)),
                          (int(cx + side * w * 0.1), int(bottom - h * 0.45)), (40, 40, 40), -1)
        for k in range(3):  # vent slots
            y = bottom - h * (0.85 - 0.03 * k)
            cv2.line(canvas.img, (int(cx - w * 0.4), int(y)), (int(cx - w * 0.15), int(y)), (metal * 0.5).tolist(), 1)


def person(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    h = size * rng.uniform(2.5, 4.0)
    w = h * 0.28
    shirt = np.float32(rng.choice([[240, 200, 20], [250, 120, 20], [40, 60, 120], [60, 60, 60], [200, 30, 30]]))
    trousers = np.float32(rng.choice([[30, 30, 40], [50, 60, 90], [80, 70, 60]]))
    skin = np.float32(rng.choice([[230, 190, 160], [180, 130, 95], [110, 75, 55]]))
    for side in (-1, 1):
        fill_poly(canvas, np.float32([[cx + side * w * 0.05, bottom - h * 0.48], [cx + side * w * 0.4, bottom - h * 0.48],
                                      [cx + side * w * 0.35, bottom], [cx + side * w * 0.1, bottom]]), trousers)
    fill_poly(canvas, _blob(rng, cx, bottom - h * 0.65, w * 0.5, h * 0.2), shirt)
    cv2.circle(canvas.img, (int(cx), int(bottom - h * 0.9)), max(2, int(h * 0.07)), skin.tolist(), -1)
    canvas.ids[max(0, int(bottom - h)):int(bottom), max(0, int(cx - w * 0.5)):int(cx + w * 0.5)] = 0


def crate(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    """A plastic crate: box-shaped, brightly coloured, with a grid of holes: not a package."""
    w, h = size * rng.uniform(0.9, 1.3), size * rng.uniform(0.45, 0.7)
    colour = np.float32(rng.choice([[30, 80, 180], [200, 40, 40], [40, 140, 60], [230, 180, 20], [60, 60, 60]]))
    fill_poly(canvas, np.float32([[cx - w / 2, bottom - h], [cx + w / 2, bottom - h], [cx + w / 2, bottom],
                                  [cx - w / 2, bottom]]), colour)
    holes_x, holes_y = int(rng.integers(4, 9)), int(rng.integers(2, 4))
    for i in range(holes_x):
        for j in range(holes_y):
            x = cx - w / 2 + w * (i + 0.25) / holes_x
            y = bottom - h + h * (j + 0.3) / holes_y
            cv2.rectangle(canvas.img, (int(x), int(y)), (int(x + w * 0.5 / holes_x), int(y + h * 0.4 / holes_y)),
                          (colour * 0.3).tolist(), -1)


def tyre(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    r = size * rng.uniform(0.4, 0.7)
    cv2.circle(canvas.img, (int(cx), int(bottom - r)), max(2, int(r)), (25, 25, 25), -1)
    cv2.circle(canvas.img, (int(cx), int(bottom - r)), max(1, int(r * 0.5)), (120, 120, 125), -1)
    canvas.ids[max(0, int(bottom - 2 * r)):int(bottom), max(0, int(cx - r)):int(cx + r)] = 0


DISTRACTORS = (barrel, bin_, bag, bag, furniture, person, crate, tyre)


def distractor(canvas: Canvas, rng: np.random.Generator, cx: float, bottom: float, size: float) -> None:
    DISTRACTORS[int(rng.integers(len(DISTRACTORS)))](canvas, rng, cx, bottom, size)
