#!/usr/bin/env bash
# Fine-tune the shipped checkpoint on real + grayscale copies + synthetic frames (CPU, resumable).
cd "$(dirname "$0")/../../.."  # the repository root
if [ -f ml/runs/ft352/weights/last.pt ]; then
  exec .venv/bin/python -m ml.train --name ft352 --resume
fi
exec .venv/bin/python -m ml.train --name ft352 --model ml/reports/gpu512/best.pt --imgsz 352 --batch 16 \
  --epochs 12 --time 1.4 --lr0 0.002 --lrf 0.1 --warmup-epochs 0.5 --cos-lr --close-mosaic 2 \
  --synth ml/runs/synth --synth-count 1600 --gray-fraction 0.25 --cache ram --workers 2 --threads 1 \
  --hyp mixup=0.1 --hyp scale=0.6 --hyp degrees=3 --hyp hsv_v=0.5 --hyp hsv_s=0.7 --hyp translate=0.15
