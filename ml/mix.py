"""Training mixes: real data, grayscale copies of it, synthetic frames, site data, and families held out.

Ultralytics reads a ``train:`` entry that is a text file of image paths and finds each label by
swapping ``/images/`` for ``/labels/``; so a mix is a list file in a writable view, never a copy of
the licensed images (grayscale copies are the one exception: they are derived files, written into
the view under ``ml/runs``, which is git-ignored).
"""

from __future__ import annotations

import csv
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ml.common import list_images, writable_dataset_view


@dataclass
class Mix:
    real: Path  # YOLO dataset with images/{train,val}, labels/{train,val}, manifest.csv
    synth: list[Path] = field(default_factory=list)  # YOLO folders written by ``python -m ml.synth``
    synth_count: int = 0  # 0 = every synthetic frame found
    gray_fraction: float = 0.0  # share of real training images added again as grayscale copies
    hold_out: tuple[str, ...] = ()  # manifest families left out of training (for leave-one-family-out)
    seed: int = 0
    site: list[Path] = field(default_factory=list)  # site datasets from `manage.py import_labels`
    site_repeat: int = 1  # list each site image this many times (a few site frames among thousands)


def family_files(dataset: Path, families: tuple[str, ...]) -> set[str]:
    """Image file names (``images/<split>/<name>``) whose manifest family is one of ``families``."""
    manifest = dataset / "manifest.csv"
    if not families:
        return set()
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} is needed to hold out families")
    with manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    known = {row["family"] for row in rows}
    missing = [f for f in families if f not in known]
    if missing:
        raise SystemExit(f"error: unknown famil{'y' if len(missing) == 1 else 'ies'} {missing}; "
                         f"known: {sorted(known)[:20]}...")
    return {row["file"] for row in rows if row["family"] in families}


def _gray_copy(src: Path, label: Path, out_images: Path, out_labels: Path) -> Path:
    from PIL import Image

    dst = out_images / src.name
    if not dst.is_file():
        with Image.open(src) as im:
            im.convert("L").convert("RGB").save(dst, "JPEG", quality=90)
    shutil.copyfile(label, out_labels / f"{src.stem}.txt")
    return dst


def _site_view(folder: Path, view: Path) -> list[Path]:
    """A site dataset's training images, seen through the writable view: images linked, labels
    copied, so Ultralytics' label cache is written under ml/runs, never into the site folder."""
    folder = folder.resolve()
    images = folder / "images" / "train"
    if not (images.is_dir() and (folder / "labels" / "train").is_dir()):
        raise SystemExit(f"error: {folder} is not a site dataset (images/train, labels/train); "
                         "make one with `manage.py import_labels`")
    part = f"site-{folder.name}"
    link = view / "images" / part
    if link.is_symlink() and link.resolve() != images:
        link.unlink()
    if not link.is_symlink():
        link.symlink_to(images, target_is_directory=True)
    labels = view / "labels" / part
    if labels.exists():
        shutil.rmtree(labels)
    shutil.copytree(folder / "labels" / "train", labels)
    return list_images(link)


def build(mix: Mix, workdir: Path) -> tuple[Path, dict[str, int]]:
    """Write ``<workdir>/dataset/data.yaml`` for the mix; returns (yaml path, counts per part)."""
    data_yaml = writable_dataset_view(mix.real, workdir)
    view = data_yaml.parent
    held = family_files(mix.real, mix.hold_out)
    real = [p for p in list_images(view / "images" / "train") if f"images/train/{p.name}" not in held]
    rng = random.Random(mix.seed)
    parts: dict[str, list[Path]] = {"real": real}
    if mix.gray_fraction > 0:
        gray_images, gray_labels = view / "images" / "train_gray", view / "labels" / "train_gray"
        gray_images.mkdir(parents=True, exist_ok=True)
        gray_labels.mkdir(parents=True, exist_ok=True)
        chosen = rng.sample(real, int(round(len(real) * min(mix.gray_fraction, 1.0))))
        parts["gray"] = [_gray_copy(p, view / "labels" / "train" / f"{p.stem}.txt", gray_images, gray_labels)
                         for p in chosen]
    synth: list[Path] = []
    for folder in mix.synth:
        synth += list_images(folder.resolve() / "images" / "train")
    if mix.synth_count and mix.synth_count < len(synth):
        synth = sorted(rng.sample(synth, mix.synth_count))
    parts["synth"] = synth
    if mix.site:
        parts["site"] = [p for folder in mix.site for p in _site_view(folder, view)] * max(mix.site_repeat, 1)
    listing = view / "train_mix.txt"
    listing.write_text("".join(f"{p}\n" for part in parts.values() for p in part))
    # Val as a list file too: given the linked folder, Ultralytics follows the link and writes its
    # labels cache into the (read-only, shared) dataset. A held-out family must not steer best.pt either.
    val = view / "val_mix.txt"
    val.write_text("".join(f"{p}\n" for p in list_images(view / "images" / "val")
                           if f"images/val/{p.name}" not in held))
    data_yaml.write_text(f"path: {view}\ntrain: {listing}\nval: {val}\nnames:\n  0: package\n", encoding="utf-8")
    return data_yaml, {name: len(paths) for name, paths in parts.items()} | {"held_out_images": len(held)}
