"""Render synthetic warehouse frames of cardboard cartons (our own CC0 sample images).

    python -m simulation.make_samples                    # writes simulation/samples/*.jpg + counts.json
    python -m simulation.make_samples --model PATH       # ...and records what the model counts per image

Dataset images may not be committed, so the simulator, the tests and the benchmark use these. Every
scene is drawn from a seed (numpy + OpenCV, no external assets): a wall with pallet racking, a
concrete floor, kraft cartons as shaded cuboids (tape strip, shipping label, edge lines) stacked on
wooden pallets and shelves, loose boxes in front that occlude others, then a mild perspective warp,
lighting falloff, blur, sensor noise and JPEG compression. The true count is the number of cartons of
which at least ``MIN_VISIBLE`` of the drawn area is still visible in the final frame (an ID buffer is
rendered and warped alongside the colour image), so heavily hidden or out-of-frame boxes do not count.

Only stdlib, numpy, OpenCV and Pillow; no Django (``render_frame`` is used by benchmarks/ingest.py).
"""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
# (seed, number of cartons placed) for the committed samples; placed != visible (see MIN_VISIBLE).
SAMPLE_PLAN: tuple[tuple[int, int], ...] = ((11, 0), (12, 3), (13, 6), (14, 10), (15, 14), (16, 19), (17, 24), (18, 30))
MIN_VISIBLE = 0.35
SAMPLE_SIZE = (1280, 720)
BENCH_SIZE = (1920, 1080)


@dataclass(frozen=True)
class Carton:
    x: float  # front face, top-left, in scene pixels
    y: float
    w: float
    h: float
    depth: float  # oblique depth offset in pixels (top and right faces)
    tone: tuple[float, float, float]  # base kraft colour, BGR
    taped: bool
    label: bool


def _kraft(rng: np.random.Generator) -> tuple[float, float, float]:
    """A cardboard brown (BGR), from pale kraft to dark corrugated."""
    base = np.array([88.0, 138.0, 190.0]) * rng.uniform(0.72, 1.12)
    base *= rng.normal(1, 0.03)  # brightness, not hue: per-channel noise turns kraft olive
    if rng.random() < 0.12:  # the odd white/grey carton
        base = np.full(3, rng.uniform(170, 215)) + rng.normal(0, 4, 3)
    return tuple(np.clip(base, 20, 240).tolist())


def _background(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, int]:
    """Wall above, concrete floor below; returns (BGR float image, floor line y)."""
    horizon = int(height * rng.uniform(0.42, 0.58))
    img = np.zeros((height, width, 3), np.float32)
    wall = np.array([rng.uniform(150, 200)] * 3) + rng.normal(0, 8, 3)
    ramp = np.linspace(0.85, 1.05, horizon)[:, None, None]
    img[:horizon] = wall * ramp
    floor = np.array([120.0, 125.0, 128.0]) * rng.uniform(0.75, 1.1)
    ramp = np.linspace(0.9, 1.15, height - horizon)[:, None, None]
    img[horizon:] = floor * ramp
    # Concrete blotches: low-frequency noise upscaled.
    blotch = cv2.resize(rng.normal(0, 10, (height // 40 + 1, width // 40 + 1)).astype(np.float32), (width, height))
    img[horizon:] += blotch[horizon:, :, None]
    # Painted floor line (yellow) and a wall skirting strip.
    y = int(horizon + (height - horizon) * rng.uniform(0.55, 0.85))
    cv2.line(img, (0, y), (width, y + int(rng.uniform(-30, 30))), (40, 190, 220), max(3, width // 250))
    cv2.rectangle(img, (0, horizon - height // 60), (width, horizon), (90, 95, 100), -1)
    return img, horizon


def _racking(img: np.ndarray, rng: np.random.Generator, horizon: int) -> list[tuple[int, int, int]]:
    """Pallet racking on the wall: blue uprights, orange beams. Returns shelves as (x0, x1, beam_y)."""
    height, width = img.shape[:2]
    shelves: list[tuple[int, int, int]] = []
    if rng.random() < 0.25:
        return shelves
    bay_w = int(width * rng.uniform(0.28, 0.4))
    x = int(rng.uniform(-0.1, 0.1) * width)
    levels = [horizon - int(height * f) for f in (0.03, 0.22)]
    post = max(6, width // 160)
    while x < width:
        for px in (x, x + bay_w):
            cv2.rectangle(img, (px - post // 2, 0), (px + post // 2, horizon), (150, 80, 30), -1)
        for beam_y in levels:
            cv2.rectangle(img, (x, beam_y), (x + bay_w, beam_y + post), (20, 110, 230), -1)
            shelves.append((x + post, x + bay_w - post, beam_y))
        x += bay_w
    return shelves


def _face(img: np.ndarray, ids: np.ndarray, pts: np.ndarray, color: np.ndarray, box_id: int,
          gradient: float, rng: np.random.Generator) -> None:
    """Fill a convex quad with a shaded, slightly textured colour; mark it in the ID buffer."""
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, pts.astype(np.int32), 1, lineType=cv2.LINE_8)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return
    y0, y1 = ys.min(), ys.max() + 1
    x0, x1 = xs.min(), xs.max() + 1
    shade = np.linspace(1.0 + gradient, 1.0 - gradient, y1 - y0)[ys - y0]
    # Cardboard is not flat colour: faint flute lines, low-frequency stains and scuffs, and the
    # creases near the edges catch less light.
    stains = cv2.resize(rng.normal(0, 0.05, ((y1 - y0) // 25 + 2, (x1 - x0) // 25 + 2)).astype(np.float32),
                        (int(x1 - x0), int(y1 - y0)), interpolation=cv2.INTER_CUBIC)[ys - y0, xs - x0]
    inside = cv2.distanceTransform(mask[y0:y1, x0:x1], cv2.DIST_L2, 3)[ys - y0, xs - x0]
    crease = 1.0 - 0.18 * np.exp(-inside / 5.0)
    texture = 1.0 + 0.03 * np.sin(xs * rng.uniform(0.6, 1.0)) + rng.normal(0, 0.03, len(xs)) + stains
    img[ys, xs] = color[None, :] * (shade * texture * crease)[:, None]
    ids[ys, xs] = box_id


def _carton(img: np.ndarray, ids: np.ndarray, c: Carton, box_id: int, rng: np.random.Generator) -> None:
    tone = np.array(c.tone, np.float32)
    d = c.depth
    front = np.array([[c.x, c.y], [c.x + c.w, c.y], [c.x + c.w, c.y + c.h], [c.x, c.y + c.h]])
    top = np.array([[c.x, c.y], [c.x + d, c.y - d * 0.6], [c.x + c.w + d, c.y - d * 0.6], [c.x + c.w, c.y]])
    side = np.array([[c.x + c.w, c.y], [c.x + c.w + d, c.y - d * 0.6], [c.x + c.w + d, c.y + c.h - d * 0.6],
                     [c.x + c.w, c.y + c.h]])
    _face(img, ids, top, tone * 1.15, box_id, 0.03, rng)
    _face(img, ids, side, tone * 0.68, box_id, 0.06, rng)
    _face(img, ids, front, tone, box_id, 0.08, rng)
    if c.taped:  # packing tape down the middle of the top and the front flap seam
        tw = max(3.0, c.w * rng.uniform(0.1, 0.16))
        cx = c.x + c.w / 2
        tape = tone * 1.12 + 12
        strip = np.array([[cx - tw / 2, c.y], [cx + tw / 2, c.y], [cx + tw / 2, c.y + c.h * rng.uniform(0.2, 0.35)],
                          [cx - tw / 2, c.y + c.h * 0.3]])
        cv2.fillConvexPoly(img, strip.astype(np.int32), tape.tolist(), cv2.LINE_AA)
        lid = np.array([[cx - tw / 2, c.y], [cx - tw / 2 + d, c.y - d * 0.6], [cx + tw / 2 + d, c.y - d * 0.6],
                        [cx + tw / 2, c.y]])
        cv2.fillConvexPoly(img, lid.astype(np.int32), (tape * 1.08).tolist(), cv2.LINE_AA)
        # Flap seam on the top face.
        cv2.line(img, (int(c.x + d / 2), int(c.y - d * 0.3)), (int(c.x + c.w + d / 2), int(c.y - d * 0.3)),
                 (tone * 0.7).tolist(), 1, cv2.LINE_AA)
    if c.label and c.w > 30:  # white shipping label with a barcode and text lines
        lw, lh = c.w * rng.uniform(0.25, 0.4), c.h * rng.uniform(0.2, 0.32)
        lx = c.x + c.w * rng.uniform(0.08, 0.9) - lw * 0.5
        lx = float(np.clip(lx, c.x + 2, c.x + c.w - lw - 2))
        ly = c.y + c.h * rng.uniform(0.45, 0.95) - lh
        cv2.rectangle(img, (int(lx), int(ly)), (int(lx + lw), int(ly + lh)), (235, 238, 240), -1, cv2.LINE_AA)
        bx = lx + lw * 0.1
        while bx < lx + lw * 0.9:
            bar = rng.uniform(0.7, 2.5)
            cv2.line(img, (int(bx), int(ly + lh * 0.55)), (int(bx), int(ly + lh * 0.9)), (30, 30, 30), 1)
            bx += bar + 1
        for row in (0.15, 0.3, 0.42):
            cv2.line(img, (int(lx + lw * 0.1), int(ly + lh * row)), (int(lx + lw * rng.uniform(0.4, 0.9)),
                     int(ly + lh * row)), (60, 60, 60), 1, cv2.LINE_AA)
    edge = (tone * 0.45).tolist()
    for quad in (front, top, side):
        cv2.polylines(img, [quad.astype(np.int32)], True, edge, 2, cv2.LINE_AA)


def _pallet(img: np.ndarray, x: float, y: float, w: float, depth: float) -> float:
    """Wooden pallet whose top surface is at y; returns its height."""
    h = max(8.0, w * 0.11)
    wood = (90.0, 150.0, 190.0)
    cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h * 0.3)), wood, -1)
    cv2.rectangle(img, (int(x), int(y + h * 0.75)), (int(x + w), int(y + h)), wood, -1)
    for f in (0.0, 0.45, 0.9):
        bx = x + w * f
        cv2.rectangle(img, (int(bx), int(y)), (int(bx + w * 0.1), int(y + h)), (70, 125, 165), -1)
    cv2.rectangle(img, (int(x), int(y + h * 0.3)), (int(x + w), int(y + h * 0.75)), (35, 35, 40), -1)
    for f in (0.0, 0.45, 0.9):
        bx = x + w * f
        cv2.rectangle(img, (int(bx), int(y + h * 0.3)), (int(bx + w * 0.1), int(y + h * 0.75)), (70, 125, 165), -1)
    top = np.array([[x, y], [x + depth, y - depth * 0.6], [x + w + depth, y - depth * 0.6], [x + w, y]], np.int32)
    cv2.fillConvexPoly(img, top, (110, 165, 200), cv2.LINE_AA)
    return h


def _layout(rng: np.random.Generator, n: int, width: int, height: int, horizon: int,
            shelves: list[tuple[int, int, int]]) -> tuple[list[Carton], list[tuple[float, float, float, float]]]:
    """Place n cartons: stacks on pallets on the floor, some on shelves, a few loose in front.

    Returns cartons in painter's order (back to front) and pallets (x, y, w, depth) to draw first.
    """
    cartons: list[Carton] = []
    pallets: list[tuple[float, float, float, float]] = []
    scale = height / 720
    # The camera is closer when there is less to see: fewer cartons, bigger cartons.
    size = scale * float(np.interp(n, [0, 8, 30], [230, 190, 135]))
    on_shelves = int(round(n * rng.uniform(0.1, 0.3))) if shelves and n > 4 else 0
    shelf: list[Carton] = []
    usable = [s for s in shelves if s[1] - s[0] > size]
    rng.shuffle(usable)
    for x0, x1, beam_y in usable:
        x = x0 + rng.uniform(2, 15) * scale
        while len(shelf) < on_shelves and x + size * 0.8 < x1:
            bw = size * rng.uniform(0.6, 0.75)
            bh = bw * rng.uniform(0.6, 0.9)
            shelf.append(Carton(x, beam_y - bh, bw, bh, bw * 0.3, _kraft(rng), rng.random() < 0.8, rng.random() < 0.5))
            x += bw * rng.uniform(1.15, 1.4)
    cartons.extend(shelf)  # shelves are behind the floor stacks: drawn first
    left = n - len(shelf)
    # Floor stacks on pallets, back row first.
    rows = 2 if left > 10 else 1
    for row in range(rows):
        base_y = horizon + (height - horizon) * (0.45 + 0.35 * row + (0.2 if rows == 1 else 0)) \
            + rng.uniform(-10, 10) * scale
        box_w = size * (1 + 0.2 * row)
        row_left = left if row == rows - 1 else int(left * rng.uniform(0.4, 0.6))
        x = rng.uniform(0.02, 0.12) * width
        while row_left > 0 and x < width * 0.85:
            cols = int(rng.integers(1, 4))
            layers = int(rng.integers(1, 4))
            bw = box_w * rng.uniform(0.85, 1.1)
            bh = bw * rng.uniform(0.55, 0.85)
            depth = bw * rng.uniform(0.25, 0.4)
            pw = cols * bw + 6 * scale
            if rng.random() < 0.75:
                pallets.append((x, base_y, pw, depth))
                floor_y = base_y  # pallet top; pallet drawn from base_y downward
            else:
                floor_y = base_y + bw * 0.11
            stack: list[Carton] = []
            for layer in range(layers):
                for col in range(cols):
                    if row_left - len(stack) <= 0:
                        break
                    jitter = rng.uniform(-3, 3) * scale
                    stack.append(Carton(x + 3 * scale + col * bw + jitter, floor_y - (layer + 1) * bh, bw * 0.98,
                                        bh * 0.98, depth, _kraft(rng), rng.random() < 0.85, rng.random() < 0.45))
            cartons.extend(stack)
            row_left -= len(stack)
            left -= len(stack)
            x += pw + depth + rng.uniform(0.01, 0.08) * width
    # Anything left: loose cartons on the floor at the front, overlapping what is behind.
    while left > 0:
        bw = size * rng.uniform(1.1, 1.3)
        bh = bw * rng.uniform(0.55, 0.8)
        x = rng.uniform(-0.03, 0.9) * width
        y = height - bh - rng.uniform(5, 60) * scale
        cartons.append(Carton(x, y, bw, bh, bw * 0.3, _kraft(rng), rng.random() < 0.7, rng.random() < 0.4))
        left -= 1
    return cartons, pallets


def _perspective(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A mild homography, as if the camera were tilted a little and off-axis."""
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = np.float32(rng.uniform(-0.05, 0.05, (4, 2)) * [width, height])
    dst = src + jitter
    return cv2.getPerspectiveTransform(src, dst)


def render_scene(seed: int, n_cartons: int, size: tuple[int, int] = SAMPLE_SIZE) -> tuple[np.ndarray, int]:
    """Render one frame; returns (RGB uint8 pixels, true visible carton count)."""
    rng = np.random.default_rng(seed)
    width, height = size
    img, horizon = _background(rng, width, height)
    shelves = _racking(img, rng, horizon)
    cartons, pallets = _layout(rng, n_cartons, width, height, horizon, shelves)
    ids = np.zeros((height, width), np.int32)
    for x, y, w, depth in pallets:
        _pallet(img, x, y, w, depth)
    full_area: dict[int, int] = {}
    for box_id, carton in enumerate(cartons, start=1):
        solo = np.zeros_like(ids)
        _carton(img, solo, carton, box_id, rng)
        full_area[box_id] = int((solo == box_id).sum())  # drawn area before anything covers it
        ids[solo == box_id] = box_id
    # Camera: perspective, lighting falloff, blur, noise.
    homography = _perspective(rng, width, height)
    img = cv2.warpPerspective(img, homography, (width, height), borderMode=cv2.BORDER_REFLECT)
    ids = cv2.warpPerspective(ids.astype(np.float32), homography, (width, height), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(np.int32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.2, 0.5)
    falloff = 1.0 - 0.35 * (((xx - cx) / width) ** 2 + ((yy - cy) / height) ** 2)
    img *= (falloff * rng.uniform(0.85, 1.1))[:, :, None]
    sigma = rng.uniform(0.4, 1.3) * height / 720
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += rng.normal(0, rng.uniform(2, 6), img.shape).astype(np.float32)
    rgb = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    visible = np.bincount(ids.ravel(), minlength=len(cartons) + 1)
    count = sum(1 for box_id, area in full_area.items()
                if area and visible[box_id] * _area_ratio(homography, width, height) >= MIN_VISIBLE * area)
    return rgb, count


def _area_ratio(homography: np.ndarray, width: int, height: int) -> float:
    """Area(before) / area(after) of the warp, so visible pixels compare with pre-warp drawn area."""
    corners = np.float32([[[0, 0]], [[width, 0]], [[width, height]], [[0, height]]])
    warped = cv2.perspectiveTransform(corners, homography).reshape(-1, 2)
    return (width * height) / max(1.0, float(cv2.contourArea(warped)))


def encode_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def render_frame(seed: int, n_cartons: int = 15, size: tuple[int, int] = BENCH_SIZE, quality: int = 85) -> bytes:
    """A JPEG frame at ``size`` (1920x1080 by default), as a camera would send it; for benchmarks."""
    rgb, _ = render_scene(seed, n_cartons, size)
    return encode_jpeg(rgb, quality)


def write_samples(folder: Path = SAMPLES_DIR, quality: int = 78) -> dict[str, dict[str, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {}
    for index, (seed, placed) in enumerate(SAMPLE_PLAN, start=1):
        rgb, count = render_scene(seed, placed)
        name = f"warehouse_{index:02d}.jpg"
        (folder / name).write_bytes(encode_jpeg(rgb, quality))
        counts[name] = {"seed": seed, "placed": placed, "count": count}
    return counts


def model_counts(folder: Path, model: Path) -> dict[str, int]:
    from detection.detector import decode_image, load_detector  # no Django inside

    detector = load_detector(model)
    return {
        path.name: detector.detect(
            decode_image(path.read_bytes(), max_pixels=40_000_000, target_size=detector.input_size)
        ).count
        for path in sorted(folder.glob("*.jpg"))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulation.make_samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=SAMPLES_DIR)
    parser.add_argument("--model", type=Path, help="ONNX model: also record model_count per image")
    args = parser.parse_args(argv)
    counts = write_samples(args.folder)
    if args.model:
        for name, count in model_counts(args.folder, args.model).items():
            counts[name]["model_count"] = count
            counts[name]["model"] = args.model.name
    (args.folder / "counts.json").write_text(json.dumps(counts, indent=2) + "\n")
    for name, row in counts.items():
        size_kb = (args.folder / name).stat().st_size / 1024
        print(f"{name}  true={row['count']:>2}  model={row.get('model_count', '-')!s:>2}  {size_kb:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
