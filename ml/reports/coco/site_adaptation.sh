#!/usr/bin/env bash
# Issue 20 item 5: the review loop played on family `fuyi` (held out of the candidate's training):
# 50 labelled frames -> 3 epochs at 416 px with replay (real minus fuyi, 10 % grayscale, 300 synthetic)
# -> export -> INT8 -> before/after on the other 144 fuyi frames, val and held-out synthetic frames.
cd "$(dirname "$0")/../../.."  # the repository root
exec .venv/bin/python -m ml.site_adaptation --base ml/runs/coco/weights/best.pt \
  --base-onnx ml/runs/coco-eval/coco.416.int8-head.onnx --family fuyi --n 50 --seed 0 \
  --synth ml/runs/synth-c --synth ml/runs/synth-cn --synth-count 300 --calib ml/runs/coco-eval/calib \
  --json ml/reports/coco/site_adaptation.json
