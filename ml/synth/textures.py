"""Surface textures for synthetic cartons and scenes: cardboard, prints, tape, shipping labels.

Every function takes a ``numpy.random.Generator`` and returns float32 RGB arrays in 0..255, so a
scene is fully determined by its seed. Low-frequency noise comes from a small per-process bank of
tiles (built once, from a fixed seed) that faces crop and stretch, which keeps a face's texture to a
few array operations.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

TILE = 256
# Brand-ish print colours (RGB): reds, blues, greens, black, orange, purple.
PRINT_COLOURS = np.array([
    [200, 30, 35], [25, 60, 160], [20, 120, 60], [25, 25, 25], [240, 130, 20], [110, 40, 140],
    [0, 150, 200], [230, 200, 30],
], np.float32)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@cache
def noise_bank() -> np.ndarray:
    """16 tiles of multi-scale noise around 1.0 (std ~0.06), shape (16, TILE, TILE)."""
    rng = np.random.default_rng(20261127)
    tiles = []
    for _ in range(16):
        tile = np.zeros((TILE, TILE), np.float32)
        for cells, amp in ((4, 0.05), (16, 0.03), (64, 0.015)):
            grid = rng.normal(0, amp, (cells + 1, cells + 1)).astype(np.float32)
            tile += cv2.resize(grid, (TILE, TILE), interpolation=cv2.INTER_CUBIC)
        tiles.append(1.0 + tile)
    return np.stack(tiles)


def noise_patch(rng: np.random.Generator, width: int, height: int, strength: float = 1.0) -> np.ndarray:
    """A (height, width) multiplicative noise field cropped from the bank."""
    bank = noise_bank()
    tile = bank[int(rng.integers(len(bank)))]
    cw, ch = int(rng.integers(TILE // 4, TILE + 1)), int(rng.integers(TILE // 4, TILE + 1))
    x, y = int(rng.integers(0, TILE - cw + 1)), int(rng.integers(0, TILE - ch + 1))
    patch = cv2.resize(tile[y:y + ch, x:x + cw], (max(1, width), max(1, height)), interpolation=cv2.INTER_LINEAR)
    return 1.0 + (patch - 1.0) * strength


def put_text(img: np.ndarray, text: str, org: tuple[int, int], font: int, scale: float, colour,
             thickness: int) -> None:
    """cv2.putText for float images (OpenCV draws text on 8-bit images only): render a mask, blend."""
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.putText(mask, text, org, font, scale, 255, thickness, cv2.LINE_AA)
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    img *= 1 - alpha
    img += alpha * np.asarray(colour, np.float32)


def carton_colour(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Base RGB of a carton surface of the given kind."""
    if kind == "white":
        return np.full(3, rng.uniform(200, 250), np.float32) + rng.normal(0, 4, 3).astype(np.float32)
    if kind == "coloured":
        return PRINT_COLOURS[int(rng.integers(len(PRINT_COLOURS)))] * rng.uniform(0.8, 1.1)
    # Kraft: pale tan to dark corrugated brown; vary brightness more than hue.
    base = np.array([190.0, 140.0, 90.0], np.float32) * rng.uniform(0.6, 1.15)
    base += np.array([0.0, rng.uniform(-12, 12), rng.uniform(-15, 15)], np.float32)
    return np.clip(base, 15, 245)


def surface(rng: np.random.Generator, width: int, height: int, colour: np.ndarray, flutes: bool = True) -> np.ndarray:
    """A cardboard face: base colour x noise, faint corrugation lines, scuffs."""
    tex = np.empty((height, width, 3), np.float32)
    tex[:] = colour
    tex *= noise_patch(rng, width, height, rng.uniform(0.5, 1.5))[:, :, None]
    if flutes and rng.random() < 0.5:
        period = rng.uniform(2.5, 6.0)
        ramp = np.sin(np.arange(width, dtype=np.float32) * (2 * np.pi / period))
        tex *= (1.0 + 0.02 * ramp)[None, :, None]
    for _ in range(int(rng.integers(0, 3))):  # scuffs and stains
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        axes = (max(1, int(rng.uniform(0.05, 0.3) * width)), max(1, int(rng.uniform(0.05, 0.3) * height)))
        cv2.ellipse(tex, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360,
                    (colour * rng.uniform(0.8, 1.1)).tolist(), -1)
    return tex


def add_tape(rng: np.random.Generator, tex: np.ndarray, base: np.ndarray, along: str = "v") -> None:
    """A packing-tape strip through the middle (vertical 'v' or horizontal 'h')."""
    height, width = tex.shape[:2]
    kind = rng.choice(["clear", "brown", "white", "printed"], p=[0.45, 0.3, 0.15, 0.1])
    colour = {"clear": base * 1.12 + 10, "brown": np.array([150, 100, 55], np.float32),
              "white": np.array([235, 235, 230], np.float32)}.get(kind, PRINT_COLOURS[int(rng.integers(8))])
    size = width if along == "v" else height
    tw = max(2, int(size * rng.uniform(0.08, 0.2)))
    c = int(size * rng.uniform(0.4, 0.6))
    if along == "v":
        tex[:, max(0, c - tw // 2):c + tw // 2] = np.clip(colour, 0, 255)
    else:
        tex[max(0, c - tw // 2):c + tw // 2, :] = np.clip(colour, 0, 255)


def add_label(rng: np.random.Generator, tex: np.ndarray) -> None:
    """A white shipping label: barcode and text lines."""
    height, width = tex.shape[:2]
    if width < 12 or height < 10:
        return
    lw, lh = int(width * rng.uniform(0.2, 0.45)), int(height * rng.uniform(0.18, 0.4))
    x, y = int(rng.uniform(0.05, 0.95) * (width - lw)), int(rng.uniform(0.05, 0.95) * (height - lh))
    tex[y:y + lh, x:x + lw] = rng.uniform(220, 250)
    bx = x + lw * 0.1
    while bx < x + lw * 0.9:
        cv2.line(tex, (int(bx), int(y + lh * 0.55)), (int(bx), int(y + lh * 0.9)), (20, 20, 20),
                 1 if rng.random() < 0.7 else 2)
        bx += rng.uniform(1.5, 3.5)
    for row in (0.12, 0.27, 0.4):
        cv2.line(tex, (int(x + lw * 0.08), int(y + lh * row)), (int(x + lw * rng.uniform(0.3, 0.9)), int(y + lh * row)),
                 (50, 50, 50), 1)


def add_print(rng: np.random.Generator, tex: np.ndarray) -> None:
    """Brand print: coloured bands or panels, a logo blob, big letters, handling icons."""
    height, width = tex.shape[:2]
    colour = PRINT_COLOURS[int(rng.integers(len(PRINT_COLOURS)))].tolist()
    style = rng.integers(4)
    if style == 0:  # band
        y0 = int(rng.uniform(0, 0.7) * height)
        tex[y0:y0 + max(2, int(height * rng.uniform(0.1, 0.3)))] = colour
    elif style == 1:  # logo: circle or swoosh
        r = max(2, int(min(width, height) * rng.uniform(0.1, 0.3)))
        centre = (int(rng.uniform(0.2, 0.8) * width), int(rng.uniform(0.2, 0.8) * height))
        if rng.random() < 0.5:
            cv2.circle(tex, centre, r, colour, -1 if rng.random() < 0.5 else max(1, r // 4))
        else:
            cv2.ellipse(tex, centre, (r * 2, r), 0, 20, 160, colour, max(1, r // 3))
    elif style == 2:  # panel
        x0, y0 = int(rng.uniform(0, 0.5) * width), int(rng.uniform(0, 0.5) * height)
        cv2.rectangle(tex, (x0, y0), (x0 + int(width * rng.uniform(0.2, 0.5)), y0 + int(height * rng.uniform(0.2, 0.5))),
                      colour, -1)
    if min(width, height) >= 16:  # letters
        text = "".join(rng.choice(list(LETTERS), int(rng.integers(2, 8))))
        scale = max(0.3, min(width, height) / 60 * rng.uniform(0.5, 1.2))
        org = (int(rng.uniform(0.02, 0.4) * width), int(rng.uniform(0.3, 0.95) * height))
        put_text(tex, text, org, int(rng.choice([0, 1, 2, 3, 4])), scale, colour, max(1, int(scale * 2)))
    if rng.random() < 0.3 and min(width, height) > 20:  # "this side up" arrows
        s = min(width, height) * 0.12
        for k in range(2):
            ax = width * (0.75 + 0.1 * k)
            cv2.arrowedLine(tex, (int(ax), int(height * 0.35)), (int(ax), int(height * 0.35 - s)), (20, 20, 20),
                            max(1, int(s / 6)), tipLength=0.4)


def plain_background(rng: np.random.Generator, width: int, height: int, colour: np.ndarray) -> np.ndarray:
    """A studio backdrop: colour with a soft gradient and faint noise."""
    img = np.empty((height, width, 3), np.float32)
    img[:] = colour
    ramp = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(1.0, 1.1), height, dtype=np.float32)
    img *= ramp[:, None, None]
    img *= noise_patch(rng, width, height, 0.3)[:, :, None]
    return img


def random_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Domain randomisation: coloured multi-scale noise, stripes or checks."""
    colours = rng.uniform(20, 235, (2, 3)).astype(np.float32)
    mix = noise_patch(rng, width, height, rng.uniform(3, 8))
    mix = np.clip((mix - mix.min()) / max(1e-6, float(np.ptp(mix))), 0, 1)[:, :, None]
    img = colours[0] * mix + colours[1] * (1 - mix)
    if rng.random() < 0.4:
        period = int(rng.integers(6, 60))
        stripes = (np.arange(width if rng.random() < 0.5 else height) // period) % 2
        if len(stripes) == width:
            img *= (0.85 + 0.15 * stripes)[None, :, None]
        else:
            img *= (0.85 + 0.15 * stripes)[:, None, None]
    return img.astype(np.float32)
