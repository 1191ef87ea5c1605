"""Site datasets (detection/detector/site_data.py, ml/site_data.py): corrected labels checked, kept, and mixed into training."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from detection.detector.site_data import InvalidLabels, collect, import_site
from ml import mix, train
from ml.site_data import main
from tests.ml.conftest import make_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    """A CVAT "YOLO 1.1" export: obj_train_data/ with images and labels side by side, obj.names."""
    source = make_dataset(tmp_path / "gen", train=3, val=0)
    out = tmp_path / "cvat"
    (out / "obj_train_data").mkdir(parents=True)
    for image in (source / "images" / "train").iterdir():
        shutil.copyfile(image, out / "obj_train_data" / f"site_{image.name}")
        shutil.copyfile(source / "labels" / "train" / f"{image.stem}.txt", out / "obj_train_data" / f"site_{image.stem}.txt")
    (out / "obj.names").write_text("package\n")
    (out / "obj.data").write_text("classes = 1\nnames = obj.names\ntrain = train.txt\n")
    (out / "train.txt").write_text("")
    return out


def test_a_cvat_yolo_export_becomes_a_site_dataset(labelled: Path, tmp_path: Path):
    done = import_site(labelled, name="dock-north", root=tmp_path / "sites")
    assert (done.images, done.family) == (3, "site:dock-north")
    site = tmp_path / "sites" / "dock-north"
    assert sorted(p.name for p in (site / "images" / "train").iterdir()) == [
        "site_train_0.jpg", "site_train_1.jpg", "site_train_2.jpg"]
    with (site / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == ["images/train/site_train_0.jpg", "images/train/site_train_1.jpg",
                                         "images/train/site_train_2.jpg"]
    assert sum(int(r["n_boxes"]) for r in rows) == done.boxes > 0
    with pytest.raises(InvalidLabels, match="exists; pass --replace"):
        import_site(labelled, name="dock-north", root=tmp_path / "sites")
    assert import_site(labelled, name="dock-north", root=tmp_path / "sites", replace=True).images == 3


@pytest.mark.parametrize("text, message", [
    ("0 0.5 0.5 0.2\n", "expected 5 values"),
    ("2 0.5 0.5 0.2 0.2\n", "class id '2'"),
    ("0 0.5 0.5 0 0.2\n", "size (0.0, 0.2) must be in (0, 1]"),
    ("0 0.95 0.5 0.2 0.2\n", "box reaches outside the image"),
    ("0 a 0.5 0.2 0.2\n", "coordinates must be numbers"),
    ("0 nan 0.5 0.2 0.2\n", "coordinates must be finite"),
])
def test_bad_lines_are_named_with_file_and_line(labelled: Path, text: str, message: str):
    (labelled / "obj_train_data" / "site_train_1.txt").write_text("0 0.5 0.5 0.1 0.1\n" + text)
    with pytest.raises(InvalidLabels) as caught:
        collect(labelled)
    assert f"obj_train_data/site_train_1.txt: line 2: {message}" in str(caught.value)


def test_images_and_labels_must_pair_up_and_names_must_say_package(labelled: Path, tmp_path: Path):
    (labelled / "obj_train_data" / "site_train_0.txt").unlink()
    (labelled / "obj_train_data" / "stray.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (labelled / "obj.names").write_text("pallet\n")
    with pytest.raises(InvalidLabels) as caught:
        collect(labelled)
    errors = caught.value.errors
    assert "class names ['pallet']: class 0 must be 'package'" in errors
    assert "obj_train_data/stray.txt: no image with this name" in errors
    assert "obj_train_data/site_train_0.jpg: no label file (an empty one means 'no package')" in errors
    # The command line says so too, and writes nothing.
    assert main([str(labelled), "--root", str(tmp_path / "sites")]) == 1
    assert not (tmp_path / "sites").exists()


def test_the_mix_adds_site_images_through_the_writable_view(labelled: Path, tmp_path: Path):
    import_site(labelled, name="dock-north", root=tmp_path / "sites")
    site = tmp_path / "sites" / "dock-north"
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    real = make_dataset(tmp_path / "real")
    data_yaml, parts = mix.build(mix.Mix(real=real, site=[site], site_repeat=2), tmp_path / "work")
    assert parts == {"real": 8, "synth": 0, "site": 6, "held_out_images": 0}
    config = dict(line.split(": ", 1) for line in data_yaml.read_text().splitlines() if ": " in line)
    listed = [Path(line) for line in Path(config["train"]).read_text().splitlines()]
    site_lines = [p for p in listed if "site-dock-north" in str(p)]
    assert len(site_lines) == 6 and all(p.is_relative_to(tmp_path / "work") for p in listed)
    for image in site_lines:  # Ultralytics finds each label by swapping /images/ for /labels/
        label = Path(str(image).replace("/images/", "/labels/")).with_suffix(".txt")
        assert label.read_text() == (site / "labels" / "train" / label.name).read_text()
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before  # nothing written into the site


def test_a_folder_that_is_no_site_dataset_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SystemExit, match="not a site dataset"):
        mix.build(mix.Mix(real=make_dataset(tmp_path / "real"), site=[tmp_path]), tmp_path / "work")


def test_train_takes_site_folders():
    args = train.parse_args(["--site", "a", "--site", "b", "--site-repeat", "3"])
    assert (args.site, args.site_repeat) == ([Path("a"), Path("b")], 3)


@pytest.mark.slow
def test_ml_train_fine_tunes_on_base_and_site_data(labelled: Path, tmp_path: Path):
    import_site(labelled, name="dock-north", root=tmp_path / "sites")
    site = tmp_path / "sites" / "dock-north"
    os.chmod(site / "labels" / "train", 0o555)  # a read-only site folder: no cache may be written there
    try:
        runs = tmp_path / "runs"
        env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp_path / "yolo"), "YOLO_OFFLINE": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "ml.train", "--data", str(make_dataset(tmp_path / "real")), "--runs", str(runs),
             "--name", "site", "--epochs", "1", "--imgsz", "64", "--batch", "4", "--workers", "0",
             "--site", str(site), "--hyp", "val=False"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    finally:
        os.chmod(site / "labels" / "train", 0o755)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (runs / "site" / "weights" / "last.pt").is_file()
    assert json.loads((runs / "site" / "mix.json").read_text())["parts"]["site"] == 3
    # Ultralytics read 8 base + 3 site images, every one with its labels (no "background" images).
    assert "11 images, 0 backgrounds, 0 corrupt" in done.stdout + done.stderr
    assert not list(site.rglob("*.cache"))
