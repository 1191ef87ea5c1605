"""Export a trained checkpoint to ONNX with a fixed 1x3xSxS input and the metadata the product reads.

    python -m ml.export                                   # ml/reports/gpu512/best.pt -> ml/runs/export/
    python -m ml.export --weights ml/runs/packages/weights/best.pt --imgsz 416 --out model.onnx

Ultralytics writes ``imgsz``, ``names``, ``stride`` ... into the ONNX ``metadata_props``; we add what an
operator needs to trace a shipped file back to its origin: the data fingerprint, the export date, the
final training metrics and the source checkpoint (name + sha256).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from detection.detector.files import file_sha256
from ml.common import DEFAULT_DATASET, PROJECT_ROOT, configure_offline_ultralytics, dataset_fingerprint

DEFAULT_WEIGHTS = PROJECT_ROOT / "ml" / "reports" / "gpu512" / "best.pt"
DEFAULT_IMGSZ = 416  # measured: same count error as 512, within the 30 ms one-core budget; see MODEL_CARD
DEFAULT_OUT_DIR = PROJECT_ROOT / "ml" / "runs" / "export"
MODEL_NAME = "package_detector"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ml.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="Ultralytics .pt checkpoint")
    parser.add_argument("--imgsz", type=int, default=DEFAULT_IMGSZ, help="fixed square input size (multiple of 32)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output .onnx (default {DEFAULT_OUT_DIR}/{MODEL_NAME}.<imgsz>.fp32.onnx)")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET,
                        help="dataset to fingerprint when the run folder has no data_fingerprint.txt")
    parser.add_argument("--version", default=None, help="model version string (default: date + checkpoint hash)")
    parser.add_argument("--names", default="package",
                        help="comma-separated class names; single_cls training stores 'item', which the product "
                             "would show to people")
    parser.add_argument("--no-simplify", action="store_true", help="skip onnxslim graph simplification")
    args = parser.parse_args(argv)
    if not args.weights.is_file():
        parser.error(f"checkpoint {args.weights} does not exist")
    if args.imgsz < 32 or args.imgsz % 32:
        parser.error("--imgsz must be a positive multiple of 32 (the model's stride)")
    return args


def run_dir_of(weights: Path) -> Path:
    """``<run>/weights/best.pt`` -> ``<run>``; a flat report folder (best.pt beside results.csv) -> itself."""
    return weights.parent.parent if weights.parent.name == "weights" else weights.parent


def training_summary(run_dir: Path) -> dict[str, object]:
    """Metrics of the best epoch (by Ultralytics' fitness: 0.1*mAP50 + 0.9*mAP50-95) and the epoch count."""
    results = run_dir / "results.csv"
    if not results.is_file():
        return {}
    with results.open(newline="") as fh:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(fh)]
    if not rows:
        return {}

    def fitness(row: dict[str, str]) -> float:
        return 0.1 * float(row["metrics/mAP50(B)"]) + 0.9 * float(row["metrics/mAP50-95(B)"])

    best = max(rows, key=fitness)
    summary: dict[str, object] = {"epochs": len(rows), "best_epoch": int(float(best["epoch"]))}
    for key in ("precision", "recall", "mAP50", "mAP50-95"):
        summary[f"val_{key}"] = round(float(best[f"metrics/{key}(B)"]), 4)
    return summary


def data_fingerprint_for(run_dir: Path, data: Path) -> str:
    stored = run_dir / "data_fingerprint.txt"
    if stored.is_file():
        return stored.read_text().strip()
    if data.is_dir():
        return dataset_fingerprint(data)
    return "unknown"


def add_metadata(onnx_path: Path, extra: dict[str, str]) -> dict[str, str]:
    """Merge ``extra`` into the model's metadata_props (existing keys are overwritten) and save in place."""
    import onnx

    model = onnx.load(str(onnx_path))
    props = {p.key: p.value for p in model.metadata_props}
    props.update(extra)
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(onnx_path))
    return props


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    out = args.out or DEFAULT_OUT_DIR / f"{MODEL_NAME}.{args.imgsz}.fp32.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    configure_offline_ultralytics(PROJECT_ROOT / "ml" / "runs")
    from ultralytics import YOLO

    run_dir = run_dir_of(args.weights.resolve())
    checkpoint_sha = file_sha256(args.weights)
    print(f"[ml.export] {args.weights} (sha256 {checkpoint_sha[:12]}) -> {out} at {args.imgsz}px", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Ultralytics writes the .onnx beside the .pt; work on a copy so a read-only run folder is fine.
        work_pt = Path(tmp) / "model.pt"
        shutil.copy2(args.weights, work_pt)
        exported = YOLO(str(work_pt)).export(format="onnx", imgsz=args.imgsz, opset=args.opset, dynamic=False,
                                             simplify=not args.no_simplify, batch=1, nms=False, half=False,
                                             device="cpu", verbose=False)
        shutil.move(str(exported), out)

    today = dt.date.today().isoformat()
    metadata = {
        "model_name": MODEL_NAME,
        "version": args.version or f"{today}-{checkpoint_sha[:8]}",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "precision": "fp32",
        "data_fingerprint": data_fingerprint_for(run_dir, args.data),
        "training_metrics": json.dumps(training_summary(run_dir)),
        "source_checkpoint": f"{args.weights.name} ({run_dir.name})",
        "source_checkpoint_sha256": checkpoint_sha,
        "imgsz": f"[{args.imgsz}, {args.imgsz}]",
        "names": repr(dict(enumerate(n.strip() for n in args.names.split(",")))),
    }
    props = add_metadata(out, metadata)
    print(f"[ml.export] wrote {out} ({out.stat().st_size / 1e6:.1f} MB); metadata keys: {sorted(props)}")
    return out


if __name__ == "__main__":
    main()
