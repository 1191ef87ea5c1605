"""Helpers shared by the ml commands: paths, dataset views, fingerprints."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from detection.detector.files import IMAGE_SUFFIXES  # shared with the product's label import

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = PROJECT_ROOT.parent / "shared" / "datasets" / "packages"
DEFAULT_RUNS = PROJECT_ROOT / "ml" / "runs"
MODEL_DIR = PROJECT_ROOT / "detection" / "weights"
SPLITS = ("train", "val")


def configure_offline_ultralytics(workdir: Path) -> None:
    """Keep Ultralytics from reaching the network or writing outside the project.

    Must run before ``import ultralytics``: it reads these variables at import time.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(workdir / ".ultralytics"))
    Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def dataset_fingerprint(dataset: Path) -> str:
    """A short hash of every label file and image name, so a model can name the data it saw."""
    digest = hashlib.sha256()
    for split in SPLITS:
        for image in list_images(dataset / "images" / split):
            digest.update(f"{split}/{image.stem}\n".encode())
            label = dataset / "labels" / split / f"{image.stem}.txt"
            if label.is_file():
                digest.update(label.read_bytes())
    return digest.hexdigest()[:16]


def writable_dataset_view(dataset: Path, workdir: Path) -> Path:
    """Build a data.yaml whose labels live in a writable copy.

    Ultralytics writes ``labels/<split>.cache`` beside the labels and resolves a relative ``path``
    against its own datasets_dir, so we never train from ``../shared`` directly: images are linked,
    labels (small) are copied, and the yaml carries absolute paths.
    """
    dataset = dataset.resolve()
    view = workdir / "dataset"
    for split in SPLITS:
        images = dataset / "images" / split
        if not images.is_dir():
            raise SystemExit(f"error: {images} does not exist; is {dataset} a YOLO dataset?")
        link = view / "images" / split
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and link.resolve() != images:
            link.unlink()
        if not link.is_symlink():
            link.symlink_to(images, target_is_directory=True)
        labels = view / "labels" / split
        shutil.copytree(dataset / "labels" / split, labels, dirs_exist_ok=True)
    data_yaml = view / "data.yaml"
    data_yaml.write_text(
        f"path: {view}\ntrain: images/train\nval: images/val\nnames:\n  0: package\n", encoding="utf-8"
    )
    return data_yaml
