#!/usr/bin/env bash
# Issue 20: the shipped model (COCO start + 50 fuyi frames, ml/reports/coco/site_adaptation.sh) against the
# previous two defaults, each at 0.30/0.45 and each at its own count-first thresholds (ml.threshold on the
# 50 fuyi "site" frames + held-out synthetic sets; the shipped model keeps the pair picked for its base,
# chosen before it saw those frames). The 144 other fuyi frames were never trained or tuned on.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=.venv/bin/python; R=ml/runs/coco-eval; OUT=ml/reports/coco
PICK=path:$R/site-fuyi,synth,path:ml/runs/synth-1080
for m in previous current; do
  $PY -m ml.threshold --model $R/$m.int8.onnx --sets $PICK --write --json $OUT/threshold_$m.json | tail -1
done
$PY -c "
from ml.export import add_metadata; import onnx
src = {p.key: p.value for p in onnx.load('$R/coco.416.int8-head.onnx').metadata_props}
add_metadata('$R/ship.int8.onnx', {k: src[k] for k in ('count_conf', 'count_iou', 'count_threshold')})"
SETS=path:$R/rest-fuyi,synth,path:ml/runs/synth-1080,val,val-gray,family:rf_packages,family:IMG_0267
$PY -m ml.evaluate --sets $SETS --model $R/previous.int8.onnx --model $R/current.int8.onnx \
  --model $R/ship.int8.onnx --json $OUT/compare_own_thresholds.json | tail -22
$PY -m ml.evaluate --sets path:$R/rest-fuyi,synth,path:ml/runs/synth-1080,val --conf 0.30 --iou 0.45 \
  --model $R/ship.fp32.onnx --model $R/ship.int8.onnx --json $OUT/ship_fp32_vs_int8.json | tail -9
