"""Check a YOLO detection dataset before training on it.

    python -m ml.check_dataset ../shared/datasets/packages
    python -m ml.check_dataset path/to/dataset --classes 1 --splits train val

Errors (non-zero exit): images without a label file, label files without an image, malformed lines,
unknown class ids, coordinates outside [0, 1] or zero-size boxes, images that do not decode or are
empty, and byte-identical duplicate images (within or across splits: a val image also in train
flatters every metric). An image with an empty label file is allowed (a background frame) and counted.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.common import IMAGE_SUFFIXES, SPLITS

HISTOGRAM_BINS = ((0, 0), (1, 4), (5, 9), (10, 19), (20, 49), (50, 10**9))


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    images: Counter = field(default_factory=Counter)
    boxes: Counter = field(default_factory=Counter)
    per_image: list[int] = field(default_factory=list)
    box_areas: list[float] = field(default_factory=list)  # fraction of the image

    def error(self, message: str) -> None:
        self.errors.append(message)


def check_label_file(path: Path, classes: int, report: Report) -> int:
    """Validate one label file; return how many valid boxes it holds."""
    valid = 0
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        where = f"{path}:{n}"
        if len(parts) != 5:
            report.error(f"{where}: malformed line (expected 'class cx cy w h', got {len(parts)} fields)")
            continue
        try:
            cls = int(parts[0])
            cx, cy, w, h = (float(v) for v in parts[1:])
        except ValueError:
            report.error(f"{where}: malformed line (non-numeric value) {line.strip()!r}")
            continue
        if not 0 <= cls < classes:
            report.error(f"{where}: class id {cls} outside 0..{classes - 1}")
            continue
        if not all(np.isfinite([cx, cy, w, h])) or w <= 0 or h <= 0:
            report.error(f"{where}: zero-size or invalid box {line.strip()!r}")
            continue
        eps = 1e-6
        if min(cx - w / 2, cy - h / 2) < -eps or max(cx + w / 2, cy + h / 2) > 1 + eps or max(cx, cy, w, h) > 1 + eps:
            report.error(f"{where}: coordinates outside [0, 1] {line.strip()!r}")
            continue
        valid += 1
        report.box_areas.append(w * h)
    return valid


def check_image(path: Path, report: Report) -> bool:
    from PIL import Image

    if path.stat().st_size == 0:
        report.error(f"{path}: empty file")
        return False
    try:
        with Image.open(path) as image:
            image.verify()  # structure and checksums without decoding all pixels
    except Exception as exc:  # any failure means Ultralytics would drop or crash on it
        report.error(f"{path}: not a readable image ({exc.__class__.__name__}: {exc})")
        return False
    return True


def check_dataset(root: Path, splits: list[str], classes: int) -> Report:
    report = Report()
    hashes: dict[str, list[str]] = defaultdict(list)
    for split in splits:
        images_dir, labels_dir = root / "images" / split, root / "labels" / split
        if not images_dir.is_dir():
            report.error(f"{images_dir}: missing split folder")
            continue
        images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        stems = {p.stem for p in images}
        labels = sorted(labels_dir.glob("*.txt")) if labels_dir.is_dir() else []
        for orphan in sorted({p.stem for p in labels} - stems):
            report.error(f"{labels_dir / orphan}.txt: label without an image")
        for n, image in enumerate(images, 1):
            report.images[split] += 1
            label = labels_dir / f"{image.stem}.txt"
            if check_image(image, report):
                hashes[hashlib.sha256(image.read_bytes()).hexdigest()].append(f"{split}/{image.name}")
            if not label.is_file():
                report.error(f"{image}: no label file {label}")
                continue
            count = check_label_file(label, classes, report)
            report.boxes[split] += count
            report.per_image.append(count)
            if n % 500 == 0:
                print(f"[ml.check_dataset] {split}: {n}/{len(images)}", file=sys.stderr, flush=True)
    for names in hashes.values():
        if len(names) > 1:
            report.error(f"duplicate images (identical bytes): {', '.join(names)}")
    return report


def print_summary(report: Report) -> None:
    for split, n in report.images.items():
        print(f"{split}: {n} images, {report.boxes[split]} boxes")
    per_image = np.array(report.per_image)
    if per_image.size:
        print(f"boxes per image: mean {per_image.mean():.1f}, median {np.median(per_image):.0f}, max {per_image.max()}")
        for low, high in HISTOGRAM_BINS:
            n = int(((per_image >= low) & (per_image <= high)).sum())
            label = f"{low}" if low == high else (f"{low}+" if high > 10**6 else f"{low}-{high}")
            print(f"  {label:>6}: {n:6d} {'#' * round(50 * n / per_image.size)}")
    if report.box_areas:
        side = np.sqrt(np.array(report.box_areas))
        q = np.percentile(side, [1, 10, 50, 90, 99])
        print("box size (sqrt of area, fraction of image side): "
              + ", ".join(f"p{p} {v:.3f}" for p, v in zip((1, 10, 50, 90, 99), q)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.check_dataset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="folder with images/<split>/ and labels/<split>/")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    parser.add_argument("--classes", type=int, default=1, help="number of classes (ids 0..N-1)")
    parser.add_argument("--max-errors", type=int, default=50, help="print at most this many errors")
    args = parser.parse_args(argv)
    if not args.dataset.is_dir():
        parser.error(f"{args.dataset} is not a folder")
    report = check_dataset(args.dataset, args.splits, args.classes)
    print_summary(report)
    for message in report.errors[: args.max_errors]:
        print(f"ERROR {message}")
    if report.errors:
        more = len(report.errors) - args.max_errors
        print(f"{len(report.errors)} error(s)" + (f" ({more} not shown)" if more > 0 else ""))
        return 1
    print("OK: no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
