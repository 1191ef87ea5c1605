#!/usr/bin/env bash
# Issue 20, candidate "coco": YOLOv8n started from the COCO weights (ml.pretrained), trained on this
# 2-core CPU, time-capped (Ultralytics re-plans the epoch count after each epoch), resumable.
# Data: the real frames minus family `fuyi` (held out: the unseen-source judge and the site-adaptation
# benchmark's material), a quarter of them again in grayscale, 1,000 general synthetic frames
# (seeds 0..999) and 200 package-free distractor scenes (seeds 3000000..3000199):
#   python -m ml.synth --out ml/runs/synth-c --count 1000
#   python -m ml.synth --out ml/runs/synth-cn --count 200 --seed 3000000 --scene negative
cd "$(dirname "$0")/../../.."  # the repository root
if [ -f ml/runs/coco/weights/last.pt ]; then
  exec .venv/bin/python -m ml.train --name coco --resume
fi
exec .venv/bin/python -m ml.train --name coco --init coco --imgsz 416 --batch 16 --epochs 12 --time 1.25 \
  --warmup-epochs 1 --close-mosaic 2 --cos-lr --lr0 0.01 --lrf 0.05 --seed 0 \
  --hold-out-family fuyi --synth ml/runs/synth-c --synth ml/runs/synth-cn --gray-fraction 0.25 \
  --cache ram --workers 2 --threads 2
