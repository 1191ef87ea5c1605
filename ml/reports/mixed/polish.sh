#!/usr/bin/env bash
# Second stage: a short low-LR pass at the serving size on real + grayscale + a little synthetic,
# without mosaic, to win back val precision after the mixed fine-tune.
cd "$(dirname "$0")/../../.."  # the repository root
if [ -f ml/runs/polish416/weights/last.pt ]; then
  exec .venv/bin/python -m ml.train --name polish416 --resume
fi
exec .venv/bin/python -m ml.train --name polish416 --model ml/runs/ft352/weights/best.pt --imgsz 416 --batch 16 \
  --epochs 2 --time 0.4 --lr0 0.0005 --lrf 0.2 --warmup-epochs 0 --cos-lr --close-mosaic 2 --seed 1 \
  --synth ml/runs/synth --synth-count 300 --gray-fraction 0.25 --cache ram --workers 2 --threads 1 \
  --hyp mixup=0.0 --hyp scale=0.5 --hyp hsv_v=0.4 --hyp hsv_s=0.7
