"""A tiny YOLO dataset generated on the fly: coloured rectangles on noise, labels that match them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw


def make_dataset(root: Path, train: int = 8, val: int = 4, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            image = Image.fromarray(rng.integers(0, 60, (size, size, 3), np.uint8))
            draw = ImageDraw.Draw(image)
            lines = []
            for _ in range(int(rng.integers(1, 4))):
                w, h = rng.integers(size // 6, size // 3, 2)
                x, y = rng.integers(0, size - w), rng.integers(0, size - h)
                draw.rectangle([x, y, x + w - 1, y + h - 1], fill=tuple(int(c) for c in rng.integers(150, 255, 3)))
                lines.append(f"0 {(x + w / 2) / size:.6f} {(y + h / 2) / size:.6f} {w / size:.6f} {h / size:.6f}")
            image.save(root / "images" / split / f"{split}_{i}.jpg", quality=95)
            (root / "labels" / split / f"{split}_{i}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")
