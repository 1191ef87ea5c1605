"""Write a YOLO dataset of synthetic frames: ``<out>/images/<split>/*.jpg``, ``<out>/labels/<split>/*.txt``
and ``<out>/manifest_<split>.csv`` (file, seed, scene, mode, boxes).

    python -m ml.synth --out ml/runs/synth --count 10000                 # training frames, seeds 0..9999
    python -m ml.synth --out ml/runs/synth-eval --count 500 --held-out   # evaluation frames, reserved seeds

Sample ``i`` is rendered from seed ``--seed + i`` (``EVAL_SEED_BASE + i`` with ``--held-out``), so any
frame can be re-made alone and a training set never overlaps the held-out one. Existing files are
kept, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ml.synth.render import EVAL_SEED_BASE, SCENES


def _write(job: tuple[int, Path, str, str | None, tuple[int, int] | None]) -> tuple[str, int, str, str, int]:
    from PIL import Image

    from ml.synth.render import render_sample

    seed, out, split, scene, size = job
    name = f"synth_{seed:08d}"
    image_path = out / "images" / split / f"{name}.jpg"
    label_path = out / "labels" / split / f"{name}.txt"
    sample = render_sample(seed, scene, size)
    label_path.write_text("".join(line + "\n" for line in sample.yolo_lines()))
    Image.fromarray(sample.rgb).save(image_path, "JPEG", quality=sample.quality)  # image last: marks it done
    return name, seed, sample.scene, sample.mode, len(sample.boxes)


def _progress(done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    eta = (total - done) / rate if rate else 0.0
    bar = "#" * int(30 * done / max(total, 1))
    sys.stderr.write(f"\r[ml.synth] [{bar:<30}] {done}/{total}  {rate:.1f} img/s  eta {eta:.0f}s ")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.synth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0, help="first seed (training sets)")
    parser.add_argument("--held-out", action="store_true", help=f"use the reserved seeds from {EVAL_SEED_BASE}")
    parser.add_argument("--split", default="train")
    parser.add_argument("--scene", choices=SCENES, default=None, help="only this scene family")
    parser.add_argument("--size", default=None, metavar="WxH",
                        help="frame size, e.g. 1920x1080 (default: a mix of sizes up to 640 px)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be positive")
    size = None
    if args.size:
        try:
            size = tuple(int(v) for v in args.size.lower().split("x"))
        except ValueError:
            size = ()
        if len(size) != 2 or min(size) < 64:
            parser.error("--size must look like 1920x1080 (each side at least 64)")
    first = EVAL_SEED_BASE + args.seed if args.held_out else args.seed
    if not args.held_out and first + args.count > EVAL_SEED_BASE:
        parser.error(f"training seeds must stay below {EVAL_SEED_BASE} (reserved for held-out sets)")
    for sub in ("images", "labels"):
        (args.out / sub / args.split).mkdir(parents=True, exist_ok=True)
    jobs = [(seed, args.out, args.split, args.scene, size) for seed in range(first, first + args.count)
            if not (args.out / "images" / args.split / f"synth_{seed:08d}.jpg").is_file()]
    started = time.perf_counter()
    rows = []
    with contextlib.ExitStack() as stack:
        if args.workers > 1:
            results = stack.enter_context(ProcessPoolExecutor(max_workers=args.workers)).map(_write, jobs, chunksize=8)
        else:  # in this process: no start-up cost for small sets
            results = map(_write, jobs)
        for done, row in enumerate(results, 1):
            rows.append(row)
            if done % 20 == 0 or done == len(jobs):
                _progress(done, len(jobs), started)
    elapsed = time.perf_counter() - started
    manifest = args.out / f"manifest_{args.split}.csv"
    new = not manifest.is_file()
    with manifest.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(["file", "seed", "scene", "mode", "boxes"])
        writer.writerows(rows)
    boxes = sum(r[4] for r in rows)
    print(f"\n[ml.synth] wrote {len(rows)} images / {boxes} boxes to {args.out} in {elapsed:.1f}s "
          f"({len(rows) / max(elapsed, 1e-9) * 3600:.0f} images/hour, {args.workers} workers); "
          f"{args.count - len(jobs)} already there", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
