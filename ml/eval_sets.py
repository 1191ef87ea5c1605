"""Named evaluation sets for ``ml.evaluate --sets``: which images, where their labels are, and how
each frame is altered before detection (e.g. grayscale)."""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ml.common import DEFAULT_RUNS, list_images

SYNTH_EVAL_DIR = DEFAULT_RUNS / "synth-eval"
SYNTH_EVAL_COUNT = 400


@dataclass
class EvalSet:
    name: str
    images: list[Path]
    labels: dict[Path, Path]  # image -> YOLO label file (missing file = no objects)
    transform: str | None = None  # None | "gray"
    groups: dict[str, str] = field(default_factory=dict)  # image name -> group (e.g. synthetic scene)

    def read_bytes(self, image: Path) -> bytes:
        data = image.read_bytes()
        if self.transform == "gray":
            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                out = io.BytesIO()
                im.convert("L").convert("RGB").save(out, "JPEG", quality=95)
            return out.getvalue()
        return data


def folder_set(name: str, data: Path, split: str = "val", fallback: tuple[str, ...] = ()) -> EvalSet:
    """A YOLO folder: ``images/<split>`` + ``labels/<split>`` (or a ``fallback`` split), or flat ``images/``."""
    layouts = [(data / "images" / s, data / "labels" / s) for s in (split, *fallback)]
    for images, labels in (*layouts, (data / "images", data / "labels")):
        found = list_images(images)
        if found:
            return EvalSet(name, found, {p: labels / f"{p.stem}.txt" for p in found})
    raise SystemExit(f"error: no images in {data}/images/{split} or {data}/images")


def family_set(dataset: Path, family: str) -> EvalSet:
    manifest = dataset / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} does not exist; family sets need the dataset's manifest")
    with manifest.open(newline="") as fh:
        rows = [row for row in csv.DictReader(fh) if row["family"] == family]
    if not rows:
        raise SystemExit(f"error: no images of family {family!r} in {manifest}")
    images = [dataset / row["file"] for row in rows]  # file: images/<split>/<name>.jpg
    labels = {img: dataset / "labels" / img.parent.name / f"{img.stem}.txt" for img in images}
    return EvalSet(f"family:{family}", images, labels)


def synth_set(folder: Path = SYNTH_EVAL_DIR, count: int = SYNTH_EVAL_COUNT) -> EvalSet:
    """Held-out synthetic frames (reserved seeds); rendered on first use."""
    if len(list_images(folder / "images" / "train")) < count:
        from ml.synth.__main__ import main as synth_main

        print(f"[ml.evaluate] rendering the held-out synthetic set into {folder} ...", file=sys.stderr)
        synth_main(["--out", str(folder), "--count", str(count), "--held-out"])
    evalset = folder_set("synth", folder, "train")
    evalset.images = evalset.images[:count]
    manifest = folder / "manifest_train.csv"
    if manifest.is_file():
        with manifest.open(newline="") as fh:
            evalset.groups = {f"{row['file']}.jpg": row["scene"] for row in csv.DictReader(fh)}
    return evalset


def resolve(spec: str, dataset: Path) -> EvalSet:
    spec = spec.strip()
    if spec == "val":
        return folder_set("val", dataset, "val")
    if spec == "val-gray":
        evalset = folder_set("val-gray", dataset, "val")
        evalset.transform = "gray"
        return evalset
    if spec == "synth":
        return synth_set()
    if spec.startswith("family:"):
        return family_set(dataset, spec.split(":", 1)[1])
    path = Path(spec.split(":", 1)[1] if spec.startswith("path:") else spec)
    if path.is_dir():  # a user's folder: its val split, else its train split (e.g. ml.synth output), else flat
        return folder_set(spec, path, "val", fallback=("train",))
    raise SystemExit(f"error: unknown evaluation set {spec!r} (val, val-gray, synth, family:NAME, path:DIR)")
