"""Re-encode a YOLO dataset to WebP so it fits a size-limited transfer (e.g. a GPU machine's 64 MiB).

    python -m ml.pack_dataset ../shared/datasets/packages .gpu/data --quality 75

Labels are copied unchanged; images keep their size (quality 75 WebP is ~40 % of q90 JPEG here).
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ml.common import SPLITS, list_images


def _convert(job: tuple[Path, Path, int]) -> int:
    from PIL import Image

    src, dst, quality = job
    with Image.open(src) as im:
        im.convert("RGB").save(dst, "WEBP", quality=quality, method=4)
    return dst.stat().st_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.pack_dataset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--quality", type=int, default=75)
    args = parser.parse_args(argv)
    jobs = []
    for split in SPLITS:
        (args.dest / "images" / split).mkdir(parents=True, exist_ok=True)
        shutil.copytree(args.source / "labels" / split, args.dest / "labels" / split, dirs_exist_ok=True)
        jobs += [(p, args.dest / "images" / split / f"{p.stem}.webp", args.quality)
                 for p in list_images(args.source / "images" / split)]
    if not jobs:
        raise SystemExit(f"error: no images under {args.source}/images/{{train,val}}")
    with ProcessPoolExecutor() as pool:
        total = sum(pool.map(_convert, jobs, chunksize=32))
    print(f"{len(jobs)} images, {total / 2**20:.1f} MiB in {args.dest}")


if __name__ == "__main__":
    main()
