"""Pick a model's serving confidence and NMS IoU by COUNTING error on held-out sources, and store them in it.

    python -m ml.threshold --model candidate.int8.onnx --sets family:fuyi,synth,path:ml/runs/synth-1080
    python -m ml.threshold --model candidate.int8.onnx --sets family:fuyi,synth --write   # into the metadata

mAP ranks boxes at every threshold; the product shows one number per frame, the count at one
threshold. So the threshold is chosen where the count is best: every image of every set is detected
once per NMS IoU at conf 0.001, and each (conf, IoU) pair of the grid is scored by its counting error.
Sets are weighted equally and each set's MAE is divided by its mean true count (at least 1), so a set
of dense pallets does not drown a set of single parcels: the objective is the mean relative count error.

``--write`` stores ``count_conf``, ``count_iou`` and how they were chosen (``count_threshold``) in the
model's ONNX metadata; ``detection.detector.OnnxDetector`` serves with them unless the deployment
sets ``DETECTOR_CONFIDENCE`` / ``DETECTOR_IOU``. Use sets the model was not trained on (a held-out
family, the held-out synthetic seeds): a threshold tuned on training frames flatters like val does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ml.common import DEFAULT_DATASET

CONF_GRID = tuple(round(c, 2) for c in np.arange(0.10, 0.71, 0.025))
IOU_GRID = (0.45, 0.5, 0.55, 0.6, 0.7)


def count_table(results_by_iou: dict[float, dict[str, list]], confs=CONF_GRID) -> dict[tuple[float, float], dict]:
    """{(conf, iou): {"objective": mean relative MAE, "sets": {set: {"mae", "bias", "mean_true"}}}}."""
    table = {}
    for iou, per_set in results_by_iou.items():
        for conf in confs:
            sets = {}
            for name, results in per_set.items():
                true = np.array([r.true_count for r in results], dtype=float)
                counted = np.array([int((r.scores > conf).sum()) for r in results], dtype=float)
                sets[name] = {"mae": float(np.abs(counted - true).mean()), "bias": float((counted - true).mean()),
                              "mean_true": float(true.mean())}
            objective = float(np.mean([s["mae"] / max(1.0, s["mean_true"]) for s in sets.values()]))
            table[(conf, iou)] = {"objective": objective, "sets": sets}
    return table


def pick(table: dict[tuple[float, float], dict]) -> tuple[float, float]:
    # Ties (flat regions are common) go to the higher confidence: fewer false boxes for the same error.
    return min(table, key=lambda key: (round(table[key]["objective"], 6), -key[0], key[1]))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m ml.threshold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--sets", required=True, help="comma-separated held-out sets (as ml.evaluate --sets)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--iou", type=float, action="append", default=[], help="NMS IoU grid (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="at most N images per set")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="store the pick in the model's metadata")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"model {args.model} does not exist")

    from detection.detector import OnnxDetector
    from ml.eval_sets import resolve
    from ml.evaluate import run_images

    sets = [resolve(spec, args.data) for spec in args.sets.split(",") if spec.strip()]
    for evalset in sets:
        evalset.images = evalset.images[: args.limit or None]
    detector = OnnxDetector(args.model, threads=args.threads)
    before = (detector.conf, detector.iou)
    results_by_iou: dict[float, dict[str, list]] = {}
    for iou in args.iou or IOU_GRID:
        detector.iou = iou
        results_by_iou[iou] = {s.name: run_images(detector, s) for s in sets}
    table = count_table(results_by_iou)
    conf, iou = pick(table)
    best, current = table[(conf, iou)], table.get(_nearest(table, before))
    print(f"\n{'conf':>6}{'iou':>6}{'objective':>11}  " + "  ".join(f"{s.name[:18]:>18}" for s in sets))
    for key in sorted(table, key=lambda k: table[k]["objective"])[:8] + ([_nearest(table, before)] if current else []):
        row = table[key]
        print(f"{key[0]:>6.3f}{key[1]:>6.2f}{row['objective']:>11.4f}  "
              + "  ".join(f"{row['sets'][s.name]['mae']:>9.2f} ({row['sets'][s.name]['bias']:+.2f})" for s in sets))
    print(f"picked conf {conf}, iou {iou} (objective {best['objective']:.4f}); "
          f"the model's current pair {before} scores {current['objective']:.4f}" if current else "")
    report = {"model": str(args.model), "sets": [s.name for s in sets],
              "images": {s.name: len(s.images) for s in sets},
              "picked": {"conf": conf, "iou": iou, **best},
              "previous": {"conf": before[0], "iou": before[1], **(current or {})},
              "grid": [{"conf": k[0], "iou": k[1], **v} for k, v in sorted(table.items())]}
    if args.write:
        from ml.export import add_metadata

        add_metadata(args.model, {"count_conf": str(conf), "count_iou": str(iou), "count_threshold": json.dumps(
            {"sets": report["sets"], "images": report["images"], "objective": round(best["objective"], 4),
             "rule": "min mean over sets of count MAE / mean true count"})})
        print(f"[ml.threshold] wrote count_conf={conf} count_iou={iou} into {args.model}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _nearest(table: dict, pair: tuple[float, float]) -> tuple[float, float]:
    return min(table, key=lambda k: abs(k[0] - pair[0]) + abs(k[1] - pair[1]))


if __name__ == "__main__":
    main()
