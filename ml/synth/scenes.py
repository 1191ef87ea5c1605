"""Backgrounds and layouts: catalogue shots, pallet stacks, racks, floor piles, doorsteps, top-down
conveyors, and package-free scenes. Each ``scene_*`` draws back to front on a ``Canvas``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ml.synth import objects, textures
from ml.synth.canvas import Canvas, fill_poly, shadow
from ml.synth.objects import Light

# --- backgrounds ----------------------------------------------------------------------------------------------

def _floor_colour(rng: np.random.Generator) -> np.ndarray:
    return np.float32(rng.choice([[125, 125, 120], [150, 145, 135], [95, 110, 95], [110, 110, 120], [140, 110, 80],
                                  [70, 70, 72], [180, 175, 165]])) * rng.uniform(0.8, 1.15)


def floor(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Concrete, epoxy, wood planks or tiles filling the frame."""
    img = textures.plain_background(rng, width, height, _floor_colour(rng))
    img *= textures.noise_patch(rng, width, height, rng.uniform(1, 3))[:, :, None]
    style = rng.integers(4)
    if style == 1:  # planks
        step = int(rng.integers(20, 60))
        for y in range(0, height, step):
            cv2.line(img, (0, y), (width, y), (img[min(y, height - 1), 0] * 0.7).tolist(), 1)
    elif style == 2:  # tiles
        step = int(rng.integers(30, 120))
        for k in range(0, max(width, height), step):
            cv2.line(img, (k, 0), (k, height), (200, 200, 200), 1)
            cv2.line(img, (0, k), (width, k), (200, 200, 200), 1)
    if rng.random() < 0.4:  # painted floor marking
        y = int(rng.uniform(0.3, 0.95) * height)
        cv2.line(img, (0, y), (width, y + int(rng.uniform(-40, 40))), (230, 190, 30), max(2, width // 120))
    return img


def warehouse(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, int]:
    """A wall (block, corrugated metal or concrete) above a floor; returns (image, horizon y)."""
    horizon = int(height * rng.uniform(0.3, 0.6))
    img = floor(rng, width, height)
    wall = np.float32(rng.choice([[200, 200, 195], [170, 175, 180], [150, 160, 170], [210, 200, 180], [120, 130, 140]]))
    wall_img = textures.plain_background(rng, width, horizon, wall * rng.uniform(0.7, 1.1))
    style = rng.integers(3)
    if style == 0:  # corrugated cladding
        ramp = 1 + 0.06 * np.sin(np.arange(width, dtype=np.float32) * 2 * np.pi / rng.uniform(8, 25))
        wall_img *= ramp[None, :, None]
    elif style == 1:  # block wall
        bh = int(rng.integers(10, 30))
        for y in range(0, horizon, bh):
            cv2.line(wall_img, (0, y), (width, y), (wall * 0.75).tolist(), 1)
    img[:horizon] = wall_img
    cv2.rectangle(img, (0, horizon - max(2, height // 80)), (width, horizon), (80, 85, 90), -1)
    return img, horizon


def doorstep_background(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, int]:
    horizon = int(height * rng.uniform(0.55, 0.8))
    img = floor(rng, width, height)
    wall = np.float32(rng.choice([[160, 80, 60], [220, 215, 200], [190, 190, 180], [120, 130, 140], [230, 225, 210]]))
    wall_img = textures.plain_background(rng, width, horizon, wall)
    if rng.random() < 0.5:  # bricks or siding
        bh = int(rng.integers(6, 20))
        for y in range(0, horizon, bh):
            cv2.line(wall_img, (0, y), (width, y), (wall * 0.7).tolist(), 1)
    img[:horizon] = wall_img
    dw = int(width * rng.uniform(0.25, 0.45))
    dx = int(rng.uniform(0.05, 0.95) * (width - dw))
    door = np.float32(rng.choice([[110, 70, 40], [40, 50, 70], [200, 30, 30], [240, 240, 235], [30, 80, 50]]))
    cv2.rectangle(img, (dx - 8, 0), (dx + dw + 8, horizon), (235, 235, 230), -1)
    cv2.rectangle(img, (dx, int(horizon * rng.uniform(0, 0.1))), (dx + dw, horizon), door.tolist(), -1)
    for k in range(2):
        cv2.rectangle(img, (dx + dw // 8, int(horizon * (0.15 + 0.4 * k))), (dx + dw * 7 // 8, int(horizon * (0.45 + 0.4 * k))),
                      (door * 0.8).tolist(), 2)
    cv2.circle(img, (dx + dw * 6 // 7, int(horizon * 0.55)), max(2, dw // 25), (200, 180, 60), -1)
    if rng.random() < 0.6:  # door mat
        mw = dw * rng.uniform(0.6, 1.0)
        mx = dx + dw / 2 - mw / 2
        cv2.rectangle(img, (int(mx), horizon + 5), (int(mx + mw), int(horizon + (height - horizon) * 0.5)),
                      np.float32(rng.choice([[90, 70, 50], [60, 60, 60], [150, 40, 40]])).tolist(), -1)
    return img, horizon


def racking(img: np.ndarray, rng: np.random.Generator, levels: int, bays: int) -> list[tuple[float, float, float]]:
    """Uprights and beams over the whole frame; returns shelves as (x0, x1, beam top y), bottom level first."""
    height, width = img.shape[:2]
    upright = np.float32(rng.choice([[30, 80, 150], [40, 60, 120], [200, 200, 200], [60, 60, 60]])).tolist()
    beam = np.float32(rng.choice([[230, 110, 20], [240, 150, 20], [200, 40, 30], [30, 80, 150]])).tolist()
    post = max(3, width // rng.integers(80, 200))
    bay_w = width / bays
    x_off = rng.uniform(-0.3, 0.3) * bay_w
    top = height * rng.uniform(-0.1, 0.15)
    bottom = height * rng.uniform(0.85, 1.05)
    level_h = (bottom - top) / levels
    shelves = []
    for b in range(-1, bays + 1):
        x = x_off + b * bay_w
        cv2.rectangle(img, (int(x - post / 2), 0), (int(x + post / 2), height), upright, -1)
    for lv in range(levels):
        y = bottom - lv * level_h
        cv2.rectangle(img, (0, int(y)), (width, int(y + post * 1.5)), beam, -1)
        for b in range(-1, bays + 1):
            x = x_off + b * bay_w
            shelves.append((x + post, x + bay_w - post, y, level_h))
    return shelves


# --- layouts ------------------------------------------------------------------------------------------------

def _depth(rng: np.random.Generator, w: float, top: bool = True) -> tuple[float, float]:
    dx = w * rng.uniform(0.1, 0.35) * (1 if rng.random() < 0.6 else -1)
    dy = -w * rng.uniform(0.08, 0.35) if top else 0.0
    return dx, dy


def _stack(canvas: Canvas, rng: np.random.Generator, light: Light, x: float, base: float, cols: int, layers: int,
           bw: float, bh: float, dx: float, dy: float, uniform_kind: bool, fill: float = 1.0) -> None:
    """A block of cartons standing on ``base``: drawn bottom layer first, in the order that hides side faces."""
    kind = str(rng.choice(objects.CARTON_KINDS, p=objects.CARTON_P)) if uniform_kind else None
    colour = textures.carton_colour(rng, "white" if kind == "white" else "kraft") if uniform_kind else None
    order = range(cols) if dx >= 0 else range(cols - 1, -1, -1)
    for layer in range(layers):
        for col in order:
            if rng.random() > fill:
                continue
            jitter = rng.normal(0, bw * 0.015, 2)
            tint = colour * rng.uniform(0.93, 1.07) if colour is not None else None
            objects.carton(canvas, rng, x + col * bw + jitter[0], base - (layer + 1) * bh + jitter[1], bw * 0.985,
                           bh * 0.985, dx, dy, light, kind=kind, colour=tint, label=rng.random() < 0.5)


def _pallet(canvas: Canvas, rng: np.random.Generator, x: float, top: float, w: float, h: float, dx: float,
            dy: float) -> None:
    wood = np.float32(rng.choice([[190, 150, 95], [160, 120, 80], [120, 90, 60], [60, 110, 170]]))
    fill_poly(canvas, np.float32([[x, top], [x + w, top], [x + w, top + h], [x, top + h]]), wood * 0.5)
    for f in (0.0, 0.45, 0.9):
        fill_poly(canvas, np.float32([[x + w * f, top], [x + w * (f + 0.1), top], [x + w * (f + 0.1), top + h],
                                      [x + w * f, top + h]]), wood)
    fill_poly(canvas, np.float32([[x, top], [x + w, top], [x + w, top + h * 0.3], [x, top + h * 0.3]]), wood * 1.1)
    if dx > 0:
        fill_poly(canvas, np.float32([[x + w, top], [x + w + dx, top + dy], [x + w + dx, top + dy + h], [x + w, top + h]]),
                  wood * 0.7)


def scene_pallets(canvas: Canvas, rng: np.random.Generator, light: Light, horizon: int) -> None:
    """Dense carton stacks on pallets (one to three, up to ~100 cartons), sometimes shrink-wrapped."""
    width, height = canvas.width, canvas.height
    n_pallets = int(rng.choice([1, 1, 2, 2, 3]))
    span = width * rng.uniform(0.6, 1.1)
    pallet_w = span / n_pallets * rng.uniform(0.8, 0.95)
    x = (width - span) / 2 + rng.uniform(-0.1, 0.1) * width
    base = horizon + (height - horizon) * rng.uniform(0.5, 0.95)
    for _ in range(n_pallets):
        cols = int(rng.integers(2, 7))
        bw = pallet_w / cols
        bh = bw * rng.uniform(0.5, 1.0)
        max_layers = max(1, int((base - height * 0.02) / bh))
        layers = int(rng.integers(1, min(8, max_layers) + 1))
        dx, dy = _depth(rng, bw)
        if rng.random() < 0.35:  # a second row behind, mostly hidden: only its top edge shows
            _stack(canvas, rng, light, x + dx, base + dy, cols, layers, bw, bh, dx, dy, True)
        top = base
        if rng.random() < 0.8:
            pallet_h = pallet_w * rng.uniform(0.06, 0.1)
            _pallet(canvas, rng, x, base - pallet_h, pallet_w, pallet_h, dx, dy)
            top = base - pallet_h
        _stack(canvas, rng, light, x, top, cols, layers, bw, bh, dx, dy, rng.random() < 0.7,
               fill=1.0 if rng.random() < 0.7 else 0.85)
        if rng.random() < 0.25:  # shrink wrap: a translucent sheen with streaks
            wrap = np.float32([[x, top - layers * bh], [x + cols * bw, top - layers * bh], [x + cols * bw, top], [x, top]])
            fill_poly(canvas, wrap, (235, 235, 240), alpha=float(rng.uniform(0.1, 0.25)))
        x += pallet_w / rng.uniform(0.8, 0.95) + rng.uniform(0, 0.05) * width


def scene_rack(canvas: Canvas, rng: np.random.Generator, light: Light) -> None:
    """Pallet racking seen from near (few big cartons) or far (many small ones)."""
    levels, bays = int(rng.integers(2, 6)), int(rng.integers(1, 6))
    shelves = racking(canvas.img, rng, levels, bays)
    eye = canvas.height * rng.uniform(0.2, 0.8)
    for x0, x1, beam_y, level_h in shelves:
        if rng.random() < 0.15:
            continue  # an empty bay
        x = x0 + rng.uniform(0, 0.05) * (x1 - x0)
        size = (x1 - x0) / rng.uniform(1.2, 5)
        while x < x1:
            bw = size * rng.uniform(0.7, 1.2)
            if x + bw > x1 + bw * 0.3:
                break
            layers = int(rng.integers(1, 4))
            bh = min(bw * rng.uniform(0.5, 1.0), level_h * 0.85 / layers)
            dx, dy = _depth(rng, bw, top=beam_y - layers * bh > eye)
            _stack(canvas, rng, light, x, beam_y, 1, layers, bw, bh, dx, dy * 0.6, True)
            x += bw * rng.uniform(1.0, 1.3)


def scene_pile(canvas: Canvas, rng: np.random.Generator, light: Light, horizon: int) -> None:
    """Loose cartons (and some mailers) on a floor, overlapping, a little turned, with distractors."""
    width, height = canvas.width, canvas.height
    n = int(rng.choice([rng.integers(1, 6), rng.integers(5, 16), rng.integers(15, 40)]))
    items = []
    scale = rng.uniform(0.08, 0.3) * width
    for _ in range(n):
        bottom = horizon + (height - horizon) * rng.uniform(0.15, 1.05)
        size = scale * (0.5 + (bottom - horizon) / max(1, height - horizon)) * rng.uniform(0.6, 1.3)
        items.append((bottom, rng.uniform(-0.1, 1.0) * width, size, rng.random() < 0.12))
    for _ in range(int(rng.integers(0, 4))):
        items.append((horizon + (height - horizon) * rng.uniform(0.1, 1.0), rng.uniform(0, 1) * width, scale, None))
    for bottom, x, size, is_mailer in sorted(items, key=lambda item: item[0]):
        if is_mailer is None:
            objects.distractor(canvas, rng, x, bottom, size)
        elif is_mailer:
            objects.mailer(canvas, rng, x, bottom - size * 0.3, size, size * rng.uniform(0.6, 0.9),
                           rng.uniform(-40, 40), light)
        else:
            bw, bh = size, size * rng.uniform(0.45, 1.0)
            dx, dy = _depth(rng, bw)
            shadow(canvas, np.float32([[x, bottom], [x + bw, bottom], [x + bw + bw * 0.4, bottom - 6],
                                       [x + bw * 0.4, bottom - 6]]), 0.35, max(1.0, bw * 0.05))
            objects.carton(canvas, rng, x, bottom - bh, bw, bh, dx, dy, light, angle=rng.normal(0, 6))
            if rng.random() < 0.25:  # a smaller one on top
                tw = bw * rng.uniform(0.4, 0.8)
                th = tw * rng.uniform(0.4, 0.9)
                objects.carton(canvas, rng, x + rng.uniform(0, bw - tw), bottom - bh - th, tw, th, dx * tw / bw,
                               dy * tw / bw, light, angle=rng.normal(0, 5))


def scene_catalogue(canvas: Canvas, rng: np.random.Generator, light: Light) -> None:
    """Product-photo style: 1 to 8 cartons on a plain backdrop, often white on white."""
    width, height = canvas.width, canvas.height
    white = rng.random() < 0.35
    arrangement = rng.choice(["single", "row", "stack", "grid", "scatter"])
    n = {"single": 1, "row": int(rng.integers(2, 6)), "stack": int(rng.integers(2, 5)),
         "grid": int(rng.integers(4, 9)), "scatter": int(rng.integers(2, 8))}[arrangement]
    kind = "white" if white else None
    if arrangement in ("row", "scatter", "grid"):
        cols = n if arrangement != "grid" else int(np.ceil(n / 2))
        bw = width * rng.uniform(0.5, 0.85) / cols
    else:
        bw = width * rng.uniform(0.2, 0.5)
    bh = bw * rng.uniform(0.5, 1.0)
    dx, dy = _depth(rng, bw)
    base = height * rng.uniform(0.7, 0.92)
    x0 = (width - bw * (n if arrangement == "row" else 1)) / 2
    placements: list[tuple[float, float, float, float]] = []  # x, bottom, w, h
    if arrangement == "single":
        placements.append((x0, base, bw, bh))
    elif arrangement == "row":
        gap = bw * rng.uniform(0, 0.3)
        bw2 = bw * 0.85
        for i in range(n):
            placements.append((width * 0.08 + i * (bw2 + gap), base, bw2, bh))
    elif arrangement == "stack":  # vertical stack or pyramid
        for i in range(n):
            shrink = rng.uniform(0.75, 1.0) if rng.random() < 0.5 else 1.0
            w = bw * shrink ** i
            placements.append((x0 + (bw - w) / 2 + rng.normal(0, bw * 0.03), base - sum(p[3] for p in placements),
                               w, bh * shrink ** i))
    elif arrangement == "grid":  # e.g. six boxes: two layers of three
        cols = int(np.ceil(n / 2))
        for i in range(n):
            r, c = divmod(i, cols)
            placements.append((width * 0.1 + c * bw * 1.02, base - r * bh * 1.0, bw * 0.98, bh * 0.98))
    else:
        for _ in range(n):
            w = bw * rng.uniform(0.6, 1.2)
            placements.append((rng.uniform(0.02, 0.8) * width, height * rng.uniform(0.45, 0.95), w, w * rng.uniform(0.5, 1.0)))
        placements.sort(key=lambda p: p[1])
    if rng.random() < 0.2 and arrangement in ("single", "scatter"):  # a mailer beside them
        objects.mailer(canvas, rng, width * rng.uniform(0.2, 0.8), height * rng.uniform(0.6, 0.85), bw * 0.8, bw * 0.55,
                       rng.uniform(-30, 30), light)
    for x, bottom, w, h in placements:
        shadow(canvas, np.float32([[x - w * 0.02, bottom], [x + w * 1.02, bottom], [x + w + dx * 1.2, bottom + dy * 0.5],
                                   [x + dx * 1.2, bottom + dy * 0.5]]), 0.25, max(1.0, w * 0.04))
        objects.carton(canvas, rng, x, bottom - h, w, h, dx * w / bw, dy * w / bw, light, kind=kind,
                       angle=rng.normal(0, 2), label=rng.random() < 0.5)


def scene_doorstep(canvas: Canvas, rng: np.random.Generator, light: Light, horizon: int) -> None:
    width, height = canvas.width, canvas.height
    items = int(rng.integers(1, 5))
    for k in range(items):
        size = width * rng.uniform(0.1, 0.3)
        bottom = horizon + (height - horizon) * rng.uniform(0.3, 1.0)
        x = rng.uniform(0.05, 0.8) * width
        if rng.random() < 0.3:
            objects.mailer(canvas, rng, x, bottom - size * 0.3, size, size * 0.7, rng.uniform(-60, 60), light)
        else:
            bh = size * rng.uniform(0.4, 0.9)
            dx, dy = _depth(rng, size)
            shadow(canvas, np.float32([[x, bottom], [x + size, bottom], [x + size * 1.3, bottom - 4], [x + size * 0.3, bottom - 4]]),
                   0.3, max(1.0, size * 0.05))
            objects.carton(canvas, rng, x, bottom - bh, size, bh, dx, dy, light, angle=rng.normal(0, 5))
    if rng.random() < 0.5:
        objects.distractor(canvas, rng, rng.uniform(0, width), height * rng.uniform(0.8, 1.0), width * 0.15)


def scene_topdown(canvas: Canvas, rng: np.random.Generator, light: Light) -> None:
    """Seen from above: a conveyor belt or a floor, cartons as turned rectangles with a thin side."""
    width, height = canvas.width, canvas.height
    if rng.random() < 0.6:  # belt with rollers
        canvas.img[:] = np.float32([45, 45, 48]) * rng.uniform(0.7, 1.4)
        for y in range(0, height, int(rng.integers(15, 40))):
            cv2.line(canvas.img, (0, y), (width, y), (70, 70, 75), 1)
        for x in (int(width * rng.uniform(0, 0.15)), int(width * rng.uniform(0.85, 1))):
            cv2.rectangle(canvas.img, (x - 6, 0), (x + 6, height), (150, 150, 155), -1)
    n = int(rng.integers(1, 25))
    size = width * rng.uniform(0.06, 0.25)
    cols = max(1, int(width / (size * 1.4)))
    cells = rng.permutation(cols * max(1, int(height / (size * 1.2))))[:n]
    for cell in sorted(cells):
        r, c = divmod(int(cell), cols)
        w, h = size * rng.uniform(0.6, 1.1), size * rng.uniform(0.5, 1.0)
        x, y = c * size * 1.4 + rng.uniform(0, size * 0.3), r * size * 1.2 + rng.uniform(0, size * 0.2)
        objects.carton(canvas, rng, x, y, w, h, rng.uniform(-3, 3), -rng.uniform(0, 5), light,
                       angle=rng.uniform(-45, 45))


def scene_negative(canvas: Canvas, rng: np.random.Generator, horizon: int) -> None:
    """No packages at all: only things that must not be counted."""
    width, height = canvas.width, canvas.height
    for _ in range(int(rng.integers(1, 7))):
        bottom = horizon + (height - horizon) * rng.uniform(0.2, 1.0)
        objects.distractor(canvas, rng, rng.uniform(0, width), bottom, width * rng.uniform(0.08, 0.25))
