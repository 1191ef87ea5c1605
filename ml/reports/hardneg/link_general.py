"""Hard-link a seeded sample of the general synthetic set into ml/runs/synth-hn (images + labels),
so the hard-negative stage keeps seeing dense stacks. Idempotent."""

import os
import random
import sys
from pathlib import Path

src, dst, count = Path("ml/runs/synth"), Path("ml/runs/synth-hn"), int(sys.argv[1] if len(sys.argv) > 1 else 450)
images = sorted((src / "images" / "train").glob("*.jpg"))
for image in random.Random(7).sample(images, min(count, len(images))):
    label = src / "labels" / "train" / f"{image.stem}.txt"
    for a, b in ((image, dst / "images" / "train" / image.name), (label, dst / "labels" / "train" / label.name)):
        b.parent.mkdir(parents=True, exist_ok=True)
        if a.is_file() and not b.exists():
            os.link(a, b)
print(f"{len(list((dst / 'images' / 'train').glob('*.jpg')))} images in {dst}")
