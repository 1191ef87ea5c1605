"""Evaluate an ONNX model through THE PRODUCT's code path (detection.detector: decode -> letterbox ->
ONNX Runtime -> NMS) on a labelled YOLO folder.

    python -m ml.evaluate                                         # shipped INT8 model, dataset val split
    python -m ml.evaluate --model ml/runs/export/package_detector.512.fp32.onnx --json out.json
    python -m ml.evaluate path/to/yolo_dataset --split val --conf 0.30
    python -m ml.evaluate --sets val,val-gray,synth,family:IMG_0267,path:/data/site \
        --model detection/weights/package_detector.int8.onnx --model candidate.int8.onnx --json cmp.json

Named sets (``--sets``, comma-separated): ``val`` (the dataset's val split; shares videos with train,
so it flatters), ``val-gray`` (the same frames as a monochrome/IR camera sees them), ``synth`` (held-out
synthetic frames from seeds no training set uses; made on first use with ``python -m ml.synth
--held-out``; also reported per scene), ``family:NAME`` (every image of one manifest family, both
splits: the unseen source when a model was trained with ``--hold-out-family NAME``), and ``path:DIR``
(any YOLO folder). With several ``--model`` the sets are compared side by side: a model is better only
if it is better across sets, not on val alone.

Every image is detected once at conf 0.001 (for mAP); precision, recall and counts use the
predictions above the serving ``--conf`` (identical to detecting at that conf: greedy NMS never lets
a lower-scoring box suppress a higher one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml.common import DEFAULT_DATASET
from ml.eval_sets import EvalSet, folder_set, resolve
from ml.metrics import IOU_THRESHOLDS, count_metrics, count_metrics_by_bucket, detection_metrics, match_image

MAP_CONF = 0.001
SWEEP_CONFS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


@dataclass
class ImageResult:
    name: str
    true_count: int
    boxes: np.ndarray  # (n, 4) xyxy original pixels, conf >= MAP_CONF
    scores: np.ndarray
    tp: np.ndarray  # (n, 10)
    inference_ms: float
    decode_ms: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from detection.detector import DEFAULT_MODEL_PATH
    from detection.detector.onnx import DEFAULT_CONF, DEFAULT_IOU

    parser = argparse.ArgumentParser(prog="python -m ml.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, nargs="?", default=DEFAULT_DATASET,
                        help="YOLO folder with images/<split> and labels/<split> (or images/ and labels/)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--sets", default="", help="comma-separated named sets (see above) instead of data/--split")
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help=f"ONNX model (repeatable to compare; default {DEFAULT_MODEL_PATH.name})")
    parser.add_argument("--conf", type=float, default=None,
                        help=f"serving confidence for P, R and counts (default: each model's own count_conf, "
                             f"else {DEFAULT_CONF})")
    parser.add_argument("--iou", type=float, default=None,
                        help=f"NMS IoU threshold (default: each model's own count_iou, else {DEFAULT_IOU})")
    parser.add_argument("--tile", choices=("off", "auto", "always"), default="off",
                        help="tiled inference, 2x2 tiles + whole frame (detection.detector.tiling)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N images")
    parser.add_argument("--worst", type=int, default=5, help="list the N images with the largest count error")
    parser.add_argument("--json", type=Path, default=None, help="write all metrics to this file")
    args = parser.parse_args(argv)
    args.model = args.model or [DEFAULT_MODEL_PATH]
    for model in args.model:
        if not model.is_file():
            parser.error(f"model {model} does not exist (export/quantize one, or pass --model)")
    if args.conf is not None and not 0 < args.conf < 1:
        parser.error("--conf must be in (0, 1)")
    return args


def read_labels(path: Path, width: int, height: int) -> np.ndarray:
    """YOLO 'cls cx cy w h' (normalised) -> (n, 4) xyxy pixels. A missing file means no objects."""
    if not path.is_file():
        return np.zeros((0, 4))
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    arr = np.array([[float(v) for v in row[1:5]] for row in rows], dtype=np.float64).reshape(-1, 4)
    cx, cy, w, h = arr[:, 0] * width, arr[:, 1] * height, arr[:, 2] * width, arr[:, 3] * height
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def run_images(detector, evalset: EvalSet, tile: str = "off") -> list[ImageResult]:
    from detection.detector import decode_image
    from detection.detector.tiling import TilingPolicy, detect_tiled

    policy = TilingPolicy(mode=tile)
    results = []
    for n, image_path in enumerate(evalset.images, 1):
        data = evalset.read_bytes(image_path)
        t0 = time.perf_counter()
        decoded = decode_image(data, target_size=detector.input_size * policy.decode_factor)
        decode_ms = (time.perf_counter() - t0) * 1000
        result = detect_tiled(detector, decoded, conf=MAP_CONF, policy=policy)
        gt = read_labels(evalset.labels[image_path], decoded.original_width, decoded.original_height)
        boxes = np.array([[d.x1, d.y1, d.x2, d.y2] for d in result.detections]).reshape(-1, 4)
        scores = np.array([d.score for d in result.detections])
        results.append(ImageResult(image_path.name, len(gt), boxes, scores, match_image(boxes, scores, gt),
                                   result.inference_ms, decode_ms))
        if n % 50 == 0 or n == len(evalset.images):
            print(f"[ml.evaluate] {evalset.name}: {n}/{len(evalset.images)} images", file=sys.stderr, flush=True)
    return results


def summarise(results: list[ImageResult], conf: float, groups: dict[str, str] | None = None) -> dict:
    tp = np.concatenate([r.tp for r in results]) if results else np.zeros((0, len(IOU_THRESHOLDS)), bool)
    scores = np.concatenate([r.scores for r in results]) if results else np.zeros(0)
    true_counts = np.array([r.true_count for r in results])
    n_gt = int(true_counts.sum())
    metrics = detection_metrics(tp, scores, n_gt, conf)
    counts = np.array([int((r.scores > conf).sum()) for r in results])
    sweep = {}
    for c in SWEEP_CONFS:
        swept = count_metrics_by_bucket(np.array([int((r.scores > c).sum()) for r in results]), true_counts)
        sweep[str(c)] = {k: round(v["mae"], 3) for k, v in swept.items() if v.get("images")}
    errors = counts - true_counts
    worst = sorted(zip(results, counts, errors), key=lambda item: -abs(item[2]))
    return {
        "images": len(results),
        "boxes": n_gt,
        "conf": conf,
        "detection": {k: v for k, v in asdict(metrics).items()},
        "counting": count_metrics_by_bucket(counts, true_counts),
        "count_mae_by_conf": sweep,
        "latency_ms": {
            "inference_median": float(np.median([r.inference_ms for r in results])),
            "inference_p95": float(np.percentile([r.inference_ms for r in results], 95)),
            "decode_median": float(np.median([r.decode_ms for r in results])),
        },
        "count_by_group": _by_group(results, counts, true_counts, groups or {}),
        "worst_count_images": [{"image": r.name, "true": r.true_count, "predicted": int(c), "error": int(e)}
                               for r, c, e in worst[:20]],
    }


def print_report(report: dict, worst: int) -> None:
    d = report["detection"]
    print(f"model {report['model']} (input {report['input_size']}px, conf {report['conf']}, "
          f"iou {report['iou']}) on {report['images']} images / {report['boxes']} boxes")
    print(f"  precision {d['precision']:.3f}  recall {d['recall']:.3f}  "
          f"mAP50 {d['map50']:.3f}  mAP50-95 {d['map50_95']:.3f}")
    print(f"  {'bucket':<8}{'images':>7}{'MAE':>8}{'bias':>8}{'exact':>8}{'±1':>8}")
    for name, m in report["counting"].items():
        if m.get("images"):
            print(f"  {name:<8}{m['images']:>7}{m['mae']:>8.2f}{m['bias']:>+8.2f}{m['exact']:>8.1%}{m['within_1']:>8.1%}")
    print("  count MAE by conf: " + "  ".join(f"{c}:{v['all']:.2f}" for c, v in report["count_mae_by_conf"].items()))
    lat = report["latency_ms"]
    print(f"  inference median {lat['inference_median']:.1f} ms (p95 {lat['inference_p95']:.1f}), "
          f"decode median {lat['decode_median']:.1f} ms")
    for item in report["worst_count_images"][:worst]:
        print(f"  worst: {item['image']} true {item['true']} predicted {item['predicted']}")


def _by_group(results: list[ImageResult], counts: np.ndarray, true_counts: np.ndarray,
              groups: dict[str, str]) -> dict[str, dict[str, float]]:
    """Counting error per group (e.g. synthetic scene family), when the set has groups."""
    names = np.array([groups.get(r.name, "") for r in results])
    return {g: count_metrics(counts[names == g], true_counts[names == g]) for g in sorted(set(names) - {""})}


def evaluate_set(detector, evalset: EvalSet, args: argparse.Namespace) -> dict:
    evalset.images = evalset.images[: args.limit or None]
    report = summarise(run_images(detector, evalset, args.tile), detector.conf, evalset.groups)
    report.update(set=evalset.name, model=str(detector.path), input_size=detector.input_size, iou=detector.iou,
                  model_version=detector.version, tiled=args.tile)
    return report


def print_comparison(table: dict[str, dict[str, dict]]) -> None:
    """One line per (set, model): the figures that decide whether a model is better."""
    print(f"\n{'set':<20}{'model':<34}{'P':>6}{'R':>6}{'mAP50':>7}{'50-95':>7}{'MAE':>7}{'bias':>7}{'±1':>6}"
          f"{'1-4':>6}{'5-9':>6}{'10-19':>7}{'20+':>6}")
    sets = list(next(iter(table.values())))
    for set_name in sets:
        for model, reports in table.items():
            r = reports[set_name]
            d, c = r["detection"], r["counting"]
            buckets = "".join(f"{c[b]['mae']:>{w}.2f}" if c[b].get("images") else f"{'-':>{w}}"
                              for b, w in (("1-4", 6), ("5-9", 6), ("10-19", 7), ("20+", 6)))
            print(f"{set_name:<20}{Path(model).name[:33]:<34}{d['precision']:>6.3f}{d['recall']:>6.3f}"
                  f"{d['map50']:>7.3f}{d['map50_95']:>7.3f}{c['all']['mae']:>7.2f}{c['all']['bias']:>+7.2f}"
                  f"{c['all']['within_1']:>6.0%}{buckets}")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from detection.detector import OnnxDetector

    specs = [s for s in args.sets.split(",") if s.strip()]
    if not specs:  # one folder, one model: the original report
        evalset = folder_set(str(args.data), args.data, args.split)
        detector = OnnxDetector(args.model[0], conf=args.conf, iou=args.iou, threads=args.threads)
        print(f"[ml.evaluate] {detector.path.name}: {len(evalset.images)} images", file=sys.stderr, flush=True)
        report = evaluate_set(detector, evalset, args)
        report["data"] = str(evalset.images[0].parent) if evalset.images else str(args.data)
        print_report(report, args.worst)
        _write_json(args.json, report)
        return report
    sets = [resolve(spec, args.data) for spec in specs]
    table: dict[str, dict[str, dict]] = {}
    for model in args.model:
        detector = OnnxDetector(model, conf=args.conf, iou=args.iou, threads=args.threads)
        table[str(model)] = {}
        for evalset in sets:
            report = evaluate_set(detector, evalset, args)
            table[str(model)][evalset.name] = report
            print(f"\n== {evalset.name}", end=" ")
            print_report(report, args.worst)
            for group, m in report["count_by_group"].items():
                print(f"  {group:<10} images {m['images']:>4}  MAE {m['mae']:.2f}  bias {m['bias']:+.2f}  "
                      f"exact {m['exact']:.0%}")
    print_comparison(table)
    result = {"conf": args.conf, "iou": args.iou, "tiled": args.tile, "sets": specs, "models": table}
    _write_json(args.json, result)
    return result


def _write_json(path: Path | None, report: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))
        print(f"[ml.evaluate] wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
