"""Site datasets: corrected YOLO labels from a labelling tool, checked and kept for fine-tuning.

``manage.py import_labels DIR --name SITE`` (or ``python -m ml.site_data DIR --name SITE``) reads a
folder of images and YOLO label files, in any of the layouts the review export and CVAT write:

- Ultralytics YOLO: ``images/train/*.jpg`` + ``labels/train/*.txt`` (what ``export_review --format
  yolo`` writes, and CVAT's "Ultralytics YOLO Detection 1.0" export);
- YOLO 1.1 / Darknet: ``obj_train_data/*.jpg`` with ``*.txt`` beside them (CVAT's "YOLO 1.1" export);
- any folder tree where each image has a label file of the same stem.

With ``images/`` and ``labels/`` folders only those two are read (so the export's ``cvat_yolo_1.1/``
copy of the labels is not read twice).

Every label line must be ``0 cx cy w h`` (class 0, ``package``; centre and size normalised to 0..1,
the box inside the frame); every image needs a label file (empty = no package in the frame) and every
label file an image. Nothing is written unless all of it is valid; the errors name each bad file.

The result is ``<out>/<name>/``: ``images/train``, ``labels/train``, ``data.yaml`` and
``manifest.csv`` (family ``site:<name>``), which ``python -m ml.train --site <out>/<name>`` mixes with
the base data. No Django here: it lives in the detector package, the one part of the product
``ml/`` imports, so the command and ``ml/`` share it from the lower side.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from detection.detector.csv_cells import csv_cell
from detection.detector.files import IMAGE_SUFFIXES

CLASS_NAME = "package"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "ml" / "site_data"  # beside the training code
FAMILY_PREFIX = "site:"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EDGE_TOLERANCE = 0.002  # labelling tools round; a box may poke this far past the frame
# Boxes are written with 6 decimals: a smaller side would be written as 0 and refused on re-import.
MIN_SIZE = 1e-6
MAX_BOXES_PER_IMAGE = 2000  # far above any shelf (the detector keeps 300); a million is a broken file
# Text files that are not per-image labels.
NOT_LABELS = {"train.txt", "valid.txt", "val.txt", "test.txt", "classes.txt", "obj.names", "obj.data",
              "readme.txt", "notes.txt"}


class InvalidLabels(ValueError):
    """The folder cannot be imported; ``errors`` lists every problem found, one per line."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:50] + ([f"... and {len(errors) - 50} more"] if len(errors) > 50 else [])
        super().__init__(f"{len(errors)} problem(s) in the labels:\n  " + "\n  ".join(shown))


@dataclass
class Pair:
    image: Path
    label: Path
    lines: list[str] = field(default_factory=list)  # canonical "0 cx cy w h"
    size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class SiteImport:
    folder: Path
    images: int
    boxes: int
    family: str


def _class_names(source: Path) -> list[str] | None:
    """Class names from a names file in the folder, if it has one."""
    for candidate in ("classes.txt", "obj.names", "cvat_yolo_1.1/obj.names"):
        path = source / candidate
        if path.is_file():
            return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    data_yaml = source / "data.yaml"
    if data_yaml.is_file():
        names = re.findall(r"^\s+0:\s*['\"]?([^'\"\n]+)", data_yaml.read_text(), re.M)
        return names or None
    return None


def check_label_text(text: str, where: str) -> tuple[list[str], list[str]]:
    """(canonical lines, errors) for one label file's text."""
    lines, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(lines) == MAX_BOXES_PER_IMAGE:
            errors.append(f"{where}: more than {MAX_BOXES_PER_IMAGE} boxes on one image")
            break
        parts = raw.split()
        at = f"{where}: line {number}"
        if len(parts) != 5:
            errors.append(f"{at}: expected 5 values 'class cx cy w h', got {len(parts)}")
            continue
        if parts[0] != "0":
            errors.append(f"{at}: class id {parts[0]!r}; the only class is 0 ({CLASS_NAME})")
            continue
        try:
            cx, cy, w, h = (float(v) for v in parts[1:])
        except ValueError:
            errors.append(f"{at}: coordinates must be numbers")
            continue
        if not all(math.isfinite(v) for v in (cx, cy, w, h)):
            errors.append(f"{at}: coordinates must be finite")
        elif not (0 <= cx <= 1 and 0 <= cy <= 1):
            errors.append(f"{at}: centre ({cx}, {cy}) outside 0..1 (are these pixels, not normalised?)")
        elif not (0 < w <= 1 and 0 < h <= 1):
            errors.append(f"{at}: size ({w}, {h}) must be in (0, 1]")
        elif round(w, 6) < MIN_SIZE or round(h, 6) < MIN_SIZE:
            errors.append(f"{at}: size ({w}, {h}) is below {MIN_SIZE:g} of the image (would be written as 0)")
        elif (cx - w / 2 < -EDGE_TOLERANCE or cx + w / 2 > 1 + EDGE_TOLERANCE
              or cy - h / 2 < -EDGE_TOLERANCE or cy + h / 2 > 1 + EDGE_TOLERANCE):
            errors.append(f"{at}: box reaches outside the image")
        else:
            lines.append(f"0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines, errors


def collect(source: Path) -> list[Pair]:
    """Match images and label files by stem and check them all; raises InvalidLabels."""
    if not source.is_dir():
        raise InvalidLabels([f"{source} is not a folder"])
    errors: list[str] = []
    names = _class_names(source)
    if names is not None and (not names or names[0] != CLASS_NAME):
        errors.append(f"class names {names}: class 0 must be '{CLASS_NAME}'")
    images: dict[str, Path] = {}
    labels: dict[str, Path] = {}
    # An Ultralytics layout (images/, labels/) is read from those folders alone: the review export
    # also carries a YOLO 1.1 copy of the labels for CVAT (cvat_yolo_1.1/), which must not count twice.
    ultralytics = (source / "images").is_dir() and (source / "labels").is_dir()
    scan = [source / "images", source / "labels"] if ultralytics else [source]
    for path in sorted(p for folder in scan for p in folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(source).parts):
            continue
        rel = path.relative_to(source)
        if not path.resolve().is_relative_to(source.resolve()):
            # A link to a file elsewhere (another site's data, /etc/...) is not this folder's content.
            errors.append(f"{rel}: a link to a file outside the folder; copy the file in instead")
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in images:
                errors.append(f"{rel}: same name as {images[path.stem].relative_to(source)}")
            images[path.stem] = path
        elif path.suffix.lower() == ".txt" and len(rel.parts) > 1 and path.name.lower() not in NOT_LABELS:
            if path.stem in labels:
                errors.append(f"{rel}: same name as {labels[path.stem].relative_to(source)}")
            labels[path.stem] = path
    errors += [f"{labels[s].relative_to(source)}: no image with this name" for s in sorted(set(labels) - set(images))]
    errors += [f"{images[s].relative_to(source)}: no label file (an empty one means 'no package')"
               for s in sorted(set(images) - set(labels))]
    pairs = []
    for stem in sorted(set(images) & set(labels)):
        pair = Pair(image=images[stem], label=labels[stem])
        pair.lines, bad = check_label_text(pair.label.read_text(errors="replace"), str(pair.label.relative_to(source)))
        errors += bad
        try:
            with Image.open(pair.image) as im:
                im.verify()
                pair.size = im.size
        except Exception as exc:
            errors.append(f"{pair.image.relative_to(source)}: not a readable image ({exc})")
        pairs.append(pair)
    if not pairs and not errors:
        errors.append(f"{source}: no images with YOLO label files found")
    if errors:
        raise InvalidLabels(errors)
    return pairs


def import_site(source: Path, *, name: str, root: Path = DEFAULT_ROOT, replace: bool = False) -> SiteImport:
    """Check ``source`` and write it as the site dataset ``root/name``; raises InvalidLabels."""
    if not NAME_RE.match(name):
        raise InvalidLabels([f"site name {name!r}: use lower-case letters, digits, '-' and '_'"])
    pairs = collect(source)
    target = root / name
    if target.exists():
        if not replace:
            raise InvalidLabels([f"{target} exists; pass --replace to overwrite it"])
        shutil.rmtree(target)
    images, labels = target / "images" / "train", target / "labels" / "train"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    family = f"{FAMILY_PREFIX}{name}"
    rows = []
    for pair in pairs:
        shutil.copyfile(pair.image, images / pair.image.name)
        (labels / f"{pair.image.stem}.txt").write_text("".join(f"{line}\n" for line in pair.lines))
        rows.append({"file": f"images/train/{pair.image.name}", "split": "site-train", "family": family,
                     "stem": pair.image.stem, "n_boxes": len(pair.lines), "orig_size": f"{pair.size[0]}x{pair.size[1]}",
                     "source": str(pair.image.relative_to(source))})
    with (target / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        # File names come from whoever made the folder: cells safe to open in a spreadsheet (csv_cells).
        writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
    (target / "data.yaml").write_text(f"# Site dataset {name} (detection/detector/site_data.py); train with: python -m ml.train "
                                      f"--site {target}\npath: .\ntrain: images/train\nnames:\n  0: {CLASS_NAME}\n")
    return SiteImport(folder=target, images=len(pairs), boxes=sum(len(p.lines) for p in pairs), family=family)


def site_name_for(source: Path) -> str:
    """A default site name from the folder's name."""
    return re.sub(r"[^a-z0-9_-]+", "-", source.resolve().name.lower()).strip("-_") or "site"
