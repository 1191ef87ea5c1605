"""Benchmark: a depot labels N frames of its own cameras; how much better does the model count there, how fast?

    python -m ml.site_adaptation --base ml/reports/coco/best.pt --family fuyi --n 50

Plays the review loop (``export_review`` -> ``import_labels`` -> ``ml.train --site``) on a source the
base model never saw, a manifest family held out of its training:

1. N labelled frames of the family (seeded choice) become a site dataset; the family's other frames
   are the site's "other frames", never trained on;
2. ``ml.train`` fine-tunes the base checkpoint on the site frames (repeated ``--site-repeat`` times)
   replayed with the real frames (minus the family) and a share of synthetic frames, so the base
   model's skills (dense stacks, distractors) are kept;
3. export + INT8 quantization, as a depot would ship it;
4. base and adapted INT8 models are evaluated through the product's detector on the site's other
   frames, on val and on held-out synthetic frames.

Prints minutes per stage and a before/after table; ``--json`` keeps it all.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ml.common import DEFAULT_DATASET, DEFAULT_RUNS, PROJECT_ROOT


def split_family(dataset: Path, family: str, n: int, seed: int) -> tuple[list[Path], list[Path]]:
    with (dataset / "manifest.csv").open(newline="") as fh:
        files = sorted(row["file"] for row in csv.DictReader(fh) if row["family"] == family)
    if len(files) <= n:
        raise SystemExit(f"error: family {family!r} has {len(files)} images; need more than --n {n}")
    chosen = set(random.Random(seed).sample(files, n))
    return ([dataset / f for f in files if f in chosen], [dataset / f for f in files if f not in chosen])


def yolo_folder(images: list[Path], out: Path, split: str) -> Path:
    """Images linked, labels copied: a YOLO folder ``out/images/<split>``, ``out/labels/<split>``."""
    if out.exists():
        shutil.rmtree(out)
    (out / "images" / split).mkdir(parents=True)
    (out / "labels" / split).mkdir(parents=True)
    for image in images:
        (out / "images" / split / image.name).symlink_to(image.resolve())
        label = image.parent.parent.parent / "labels" / image.parent.name / f"{image.stem}.txt"
        shutil.copyfile(label, out / "labels" / split / f"{image.stem}.txt")
    return out


def run(cmd: list[str]) -> float:
    started = time.perf_counter()
    print("[ml.site_adaptation] $ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=PROJECT_ROOT, check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m ml.site_adaptation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="base checkpoint (.pt) trained without --family")
    parser.add_argument("--base-onnx", type=Path, default=None, help="the base model's INT8 ONNX (default: made here)")
    parser.add_argument("--family", default="fuyi", help="manifest family playing the new site")
    parser.add_argument("--n", type=int, default=50, help="labelled site frames")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=416)
    parser.add_argument("--site-repeat", type=int, default=3)
    parser.add_argument("--lr0", type=float, default=0.002)
    parser.add_argument("--synth", type=Path, action="append", default=[], help="synthetic replay folder(s)")
    parser.add_argument("--synth-count", type=int, default=300)
    parser.add_argument("--eval-sets", default="val,synth")
    parser.add_argument("--calib", type=Path, default=None,
                        help="INT8 calibration folder (default ml.quantize's: the dataset's train images)")
    parser.add_argument("--exclude", default="head", help="ml.quantize --exclude (the shipped model keeps the head float)")
    parser.add_argument("--out", type=Path, default=DEFAULT_RUNS / "site-adaptation")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    py = sys.executable
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    site_images, rest_images = split_family(args.data, args.family, args.n, args.seed)
    site = yolo_folder(site_images, out / f"site-{args.family}", "train")
    rest = yolo_folder(rest_images, out / f"rest-{args.family}", "val")
    timings: dict[str, float] = {}

    base_onnx = args.base_onnx
    if base_onnx is None:
        base_onnx = out / "base.int8.onnx"
        if not base_onnx.is_file():
            run([py, "-m", "ml.export", "--weights", str(args.base), "--imgsz", str(args.imgsz),
                 "--out", str(out / "base.fp32.onnx")])
            run([py, "-m", "ml.quantize", "--model", str(out / "base.fp32.onnx"), "--out", str(base_onnx),
                 "--exclude", args.exclude] + (["--calib", str(args.calib)] if args.calib else []))

    name = f"site-{args.family}-{args.n}"
    if (DEFAULT_RUNS / name).exists():
        shutil.rmtree(DEFAULT_RUNS / name)
    train = [py, "-m", "ml.train", "--name", name, "--model", str(args.base), "--imgsz", str(args.imgsz),
             "--epochs", str(args.epochs), "--lr0", str(args.lr0), "--lrf", "0.5", "--warmup-epochs", "0",
             "--close-mosaic", str(args.epochs), "--site", str(site), "--site-repeat", str(args.site_repeat),
             "--hold-out-family", args.family, "--gray-fraction", "0.1", "--workers", "2", "--cache", "ram",
             "--synth-count", str(args.synth_count)]
    for folder in args.synth:
        train += ["--synth", str(folder)]
    timings["fine_tune_s"] = run(train)
    weights = DEFAULT_RUNS / name / "weights" / "last.pt"
    adapted_fp32, adapted = out / "adapted.fp32.onnx", out / "adapted.int8.onnx"
    timings["export_quantize_s"] = run([py, "-m", "ml.export", "--weights", str(weights), "--imgsz",
                                        str(args.imgsz), "--out", str(adapted_fp32)])
    quantize = ["--exclude", args.exclude] + (["--calib", str(args.calib)] if args.calib else [])
    timings["export_quantize_s"] += run([py, "-m", "ml.quantize", "--model", str(adapted_fp32), "--out", str(adapted),
                                         *quantize])
    timings["total_min"] = round(sum(timings.values()) / 60, 2)

    evaluation = out / "evaluation.json"
    run([py, "-m", "ml.evaluate", "--sets", f"path:{rest},{args.eval_sets}", "--model", str(base_onnx),
         "--model", str(adapted), "--json", str(evaluation)])
    table = json.loads(evaluation.read_text())["models"]
    summary = {
        "family": args.family, "site_frames": len(site_images), "other_frames": len(rest_images),
        "timings": timings, "cpu_count": os.cpu_count(),
        "before_after": {
            set_name: {label: {"map50": round(table[str(model)][set_name]["detection"]["map50"], 3),
                               "count_mae": round(table[str(model)][set_name]["counting"]["all"]["mae"], 3)}
                       for label, model in (("base", base_onnx), ("adapted", adapted))}
            for set_name in table[str(base_onnx)]
        },
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
