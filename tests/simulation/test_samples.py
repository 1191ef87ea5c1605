"""The committed sample frames are ours (generated) and match their counts.json."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from simulation.make_samples import SAMPLES_DIR, render_frame, render_scene


def test_it_ships_a_count_for_every_sample_and_keeps_them_small() -> None:
    counts = json.loads((SAMPLES_DIR / "counts.json").read_text())
    images = sorted(p.name for p in Path(SAMPLES_DIR).glob("*.jpg"))
    assert images and sorted(counts) == images
    for name in images:
        assert (SAMPLES_DIR / name).stat().st_size <= 150 * 1024
        assert 0 <= counts[name]["count"] <= counts[name]["placed"] <= 30


def test_it_renders_the_same_scene_from_the_same_seed() -> None:
    # counts.json is only true if rendering is deterministic.
    first, count = render_scene(12, 3, size=(320, 180))
    second, again = render_scene(12, 3, size=(320, 180))
    assert (first == second).all() and count == again


def test_it_renders_full_hd_jpeg_frames_for_the_benchmark() -> None:
    image = Image.open(io.BytesIO(render_frame(1, 5)))
    assert image.format == "JPEG" and image.size == (1920, 1080)


def test_the_shipped_model_counts_the_samples_as_recorded() -> None:
    # counts.json (and the model card) quote these counts: a new model or a change in decoding
    # must update them, and must not count the demo frames worse than the recorded error.
    from detection.detector import decode_image, load_detector

    detector = load_detector()
    counts = json.loads((SAMPLES_DIR / "counts.json").read_text())
    errors = []
    for name, entry in counts.items():
        data = (SAMPLES_DIR / name).read_bytes()
        counted = detector.detect(decode_image(data, max_pixels=40_000_000, target_size=detector.input_size)).count
        assert counted == entry["model_count"], name
        errors.append(abs(counted - entry["count"]))
    assert sum(errors) / len(errors) <= 2.5
