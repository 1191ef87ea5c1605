"""The synthetic data generator: deterministic, exactly labelled, varied, and a usable CLI."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.synth import objects
from ml.synth.__main__ import main as synth_main
from ml.synth.canvas import Canvas
from ml.synth.render import EVAL_SEED_BASE, SCENES, film, render_sample


def identity_camera(width: int, height: int) -> tuple[np.ndarray, np.ndarray, float]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys, 1.0


def light() -> objects.Light:
    return objects.Light(top=1.2, front=1.0, side=0.7)


def test_it_renders_the_same_frame_and_labels_from_the_same_seed():
    a, b = render_sample(1234), render_sample(1234)
    assert np.array_equal(a.rgb, b.rgb)
    assert np.array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.rgb, render_sample(1235).rgb)  # another seed, another frame


def test_it_labels_each_visible_carton_with_the_extent_of_its_pixels():
    rng = np.random.default_rng(0)
    canvas = Canvas(np.full((200, 300, 3), 200, np.float32))
    objects.carton(canvas, rng, 20, 60, 80, 60, 0, 0, light())  # flat front face only: 80x60 at (20, 60)
    objects.carton(canvas, rng, 150, 50, 100, 90, 0, 0, light())
    img, boxes = film(canvas, *identity_camera(300, 200))
    assert img.shape == (200, 300, 3)
    boxes = sorted(boxes.tolist())
    assert len(boxes) == 2
    assert boxes[0] == pytest.approx([20, 60, 101, 121], abs=1.5)
    assert boxes[1] == pytest.approx([150, 50, 251, 141], abs=1.5)


def test_a_carton_hidden_behind_a_distractor_or_another_carton_is_not_labelled():
    rng = np.random.default_rng(1)
    canvas = Canvas(np.full((200, 300, 3), 200, np.float32))
    objects.carton(canvas, rng, 30, 80, 60, 50, 0, 0, light())  # hidden by the crate below
    objects.crate(canvas, rng, 60, 140, 110)  # a distractor over it: never labelled itself
    objects.carton(canvas, rng, 180, 80, 60, 50, 0, 0, light())  # 90 % hidden by the next carton
    objects.carton(canvas, rng, 186, 75, 70, 60, 0, 0, light())
    _, boxes = film(canvas, *identity_camera(300, 200))
    assert len(boxes) == 1
    assert boxes[0].tolist() == pytest.approx([186, 75, 257, 136], abs=1.5)


def test_package_free_scenes_have_no_labels():
    for seed in range(5):
        assert len(render_sample(seed, scene="negative").boxes) == 0


def test_the_scene_families_cover_what_warehouse_cameras_see():
    samples = [render_sample(seed, size=(320, 240)) for seed in range(60)]  # small: fast, same scene mix
    scenes = collections.Counter(s.scene for s in samples)
    modes = collections.Counter(s.mode for s in samples)
    assert set(scenes) >= set(SCENES) - {"negative"}, scenes
    assert modes["gray"] + modes["ir"] >= 5, modes  # monochrome and IR cameras
    assert max(len(s.boxes) for s in samples) >= 40  # dense pallet stacks
    assert sum(1 for s in samples if 1 <= len(s.boxes) <= 8 and s.scene == "catalogue") >= 3
    for s in samples:  # every box inside the frame, with a real size
        h, w = s.rgb.shape[:2]
        if len(s.boxes):
            assert (s.boxes[:, 0] >= 0).all() and (s.boxes[:, 2] <= w).all()
            assert (s.boxes[:, 1] >= 0).all() and (s.boxes[:, 3] <= h).all()
            assert (s.boxes[:, 2] - s.boxes[:, 0] >= 4).all() and (s.boxes[:, 3] - s.boxes[:, 1] >= 4).all()


def test_cli_writes_a_yolo_dataset_and_resumes(tmp_path: Path, capsys):
    out = tmp_path / "synth"
    assert synth_main(["--out", str(out), "--count", "3", "--seed", "40", "--workers", "1"]) == 0
    images = sorted((out / "images" / "train").glob("*.jpg"))
    assert [p.name for p in images] == [f"synth_{s:08d}.jpg" for s in range(40, 43)]
    for image in images:
        label = out / "labels" / "train" / f"{image.stem}.txt"
        rows = [line.split() for line in label.read_text().splitlines()]
        assert all(len(r) == 5 and r[0] == "0" and all(0 <= float(v) <= 1 for v in r[1:]) for r in rows)
        sample = render_sample(int(image.stem.split("_")[1]))
        assert len(rows) == len(sample.boxes)
        assert Image.open(image).size == (sample.rgb.shape[1], sample.rgb.shape[0])
    assert "images/hour" in capsys.readouterr().err
    before = images[0].stat().st_mtime_ns
    assert synth_main(["--out", str(out), "--count", "4", "--seed", "40", "--workers", "1"]) == 0
    assert images[0].stat().st_mtime_ns == before  # kept, not rendered again
    assert len(list((out / "images" / "train").glob("*.jpg"))) == 4
    assert len((out / "manifest_train.csv").read_text().splitlines()) == 1 + 4


def test_training_seeds_cannot_reach_the_held_out_ones(tmp_path: Path):
    with pytest.raises(SystemExit):
        synth_main(["--out", str(tmp_path), "--count", "10", "--seed", str(EVAL_SEED_BASE - 5)])
    assert synth_main(["--out", str(tmp_path), "--count", "1", "--held-out", "--workers", "1"]) == 0
    assert (tmp_path / "images" / "train" / f"synth_{EVAL_SEED_BASE:08d}.jpg").is_file()
