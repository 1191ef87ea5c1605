"""Training mixes (real + grayscale + synthetic, families held out) and named evaluation sets."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detection.detector import DEFAULT_MODEL_PATH
from ml import evaluate, mix
from ml.eval_sets import resolve
from ml.synth.__main__ import main as synth_main
from tests.ml.conftest import make_dataset


def with_manifest(root: Path) -> Path:
    """Give the tiny dataset a manifest: train_0..2 and val_0 are family 'dock', the rest 'yard'."""
    rows = []
    for split in ("train", "val"):
        for image in sorted((root / "images" / split).glob("*.jpg")):
            index = int(image.stem.split("_")[1])
            family = "dock" if (split == "train" and index < 3) or (split == "val" and index == 0) else "yard"
            rows.append({"file": f"images/{split}/{image.name}", "split": f"A-{split}", "family": family})
    with (root / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "split", "family"])
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return with_manifest(make_dataset(tmp_path / "data"))


def listed(path: Path) -> list[str]:
    return [Path(line).name for line in path.read_text().splitlines()]


def test_a_mix_adds_gray_copies_and_synthetic_frames_and_holds_out_a_family(dataset: Path, tmp_path: Path):
    synth = tmp_path / "synth"
    synth_main(["--out", str(synth), "--count", "3", "--workers", "1"])
    before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    data_yaml, parts = mix.build(mix.Mix(real=dataset, synth=[synth], synth_count=2, gray_fraction=0.5,
                                         hold_out=("dock",)), tmp_path / "work")
    assert parts == {"real": 5, "gray": 2, "synth": 2, "held_out_images": 4}
    config = dict(line.split(": ", 1) for line in data_yaml.read_text().splitlines() if ": " in line)
    train, val = Path(config["train"]), Path(config["val"])
    names = listed(train)
    assert not {"train_0.jpg", "train_1.jpg", "train_2.jpg"} & set(names[:5])  # the held-out family
    assert listed(val) == ["val_1.jpg", "val_2.jpg", "val_3.jpg"]  # it does not pick best.pt either
    gray = [Path(line) for line in train.read_text().splitlines()[5:7]]
    for image in gray:
        pixels = np.asarray(Image.open(image).convert("RGB")).astype(int)
        assert np.abs(pixels[..., 0] - pixels[..., 1]).max() <= 2  # really monochrome
        label = Path(str(image).replace("/images/", "/labels/")).with_suffix(".txt")
        assert label.read_text() == (dataset / "labels" / "train" / label.name).read_text()
    assert all("synth_" in line for line in names[7:])
    # Ultralytics writes label caches beside the labels it is given: never inside the shared dataset.
    assert train.is_relative_to(tmp_path / "work") and val.is_relative_to(tmp_path / "work")
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == before


def test_an_unknown_family_is_a_clear_error(dataset: Path, tmp_path: Path):
    with pytest.raises(SystemExit, match="unknown family"):
        mix.build(mix.Mix(real=dataset, hold_out=("nope",)), tmp_path / "work")


def test_family_and_gray_sets(dataset: Path):
    family = resolve("family:dock", dataset)
    assert sorted(p.name for p in family.images) == ["train_0.jpg", "train_1.jpg", "train_2.jpg", "val_0.jpg"]
    assert all(family.labels[p].is_file() for p in family.images)
    gray = resolve("val-gray", dataset)
    pixels = np.asarray(Image.open(io.BytesIO(gray.read_bytes(gray.images[0]))).convert("RGB")).astype(int)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).max() <= 2
    with pytest.raises(SystemExit, match="unknown evaluation set"):
        resolve("nonsense", dataset)


def test_evaluate_compares_models_across_sets(dataset: Path, tmp_path: Path):
    other = tmp_path / "candidate.int8.onnx"
    shutil.copyfile(DEFAULT_MODEL_PATH, other)
    out = tmp_path / "cmp.json"
    evaluate.main([str(dataset), "--sets", "val,family:dock", "--model", str(DEFAULT_MODEL_PATH),
                   "--model", str(other), "--json", str(out)])
    report = json.loads(out.read_text())
    assert set(report["models"]) == {str(DEFAULT_MODEL_PATH), str(other)}
    for per_set in report["models"].values():
        assert set(per_set) == {"val", "family:dock"}
        assert per_set["val"]["images"] == 4 and per_set["family:dock"]["images"] == 4
        assert set(per_set["val"]["counting"]) == {"all", "1-4", "5-9", "10-19", "20+"}
    # The same weights give the same figures: the comparison is about the model, not the run.
    a, b = report["models"].values()
    assert a["val"]["counting"]["all"] == b["val"]["counting"]["all"]
