#!/usr/bin/env bash
# Train on a lent GPU machine (see ml/MODEL_CARD.md, "How it was trained").
# The machine has torch but no ultralytics and no network: the wheels travel in .whl/ and the
# dataset, re-encoded to WebP to fit the 64 MiB transfer, in .gpu/data (ml/pack_dataset.py).
# Checkpoints are copied to $OUT every 30 s so a run cut short still brings its weights back.
set -euo pipefail
: "${OUT:?OUT must point at the folder that comes back}"
HOURS=${HOURS:-0.11}
IMGSZ=${IMGSZ:-640}
NAME=gpu${IMGSZ}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi -L
(while sleep 30; do cp /tmp/runs/$NAME/weights/*.pt /tmp/runs/$NAME/results.csv /tmp/runs/$NAME/train_log.jsonl "$OUT"/ 2>/dev/null || true; done) &
saver=$!
python3 -m ml.train --data .gpu/data --runs /tmp/runs --name "$NAME" --imgsz "$IMGSZ" --batch 64 \
  --device 0 --workers 14 --cache ram --epochs 300 --time "$HOURS" --hyp deterministic=False "$@" 2>&1 \
  | grep -v "^ *[0-9]*/[0-9]* .*it/s\]$" | tee "$OUT/train.log" || true
kill $saver || true
cp /tmp/runs/$NAME/weights/*.pt /tmp/runs/$NAME/results.csv /tmp/runs/$NAME/train_log.jsonl /tmp/runs/$NAME/args.yaml "$OUT"/ 2>/dev/null || true
ls -la "$OUT"
