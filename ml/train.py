"""Train the single-class package detector (YOLOv8n, started from the COCO-pretrained weights).

    python -m ml.train --epochs 100 --imgsz 320            # fresh run in ml/runs/<name>, COCO start
    python -m ml.train --init scratch --epochs 300         # random weights (the first two releases)
    python -m ml.train --name packages-320 --resume        # continue from weights/last.pt
    python -m ml.train --name mix --model ml/reports/gpu512/best.pt --synth ml/runs/synth \
        --synth-count 2000 --gray-fraction 0.3 --hold-out-family IMG_0267   # fine-tune on a mix
    python -m ml.train --name site-ft --model ml/reports/gpu512/best.pt --epochs 30 \
        --site ml/site_data/dock-north --site-repeat 3   # fine-tune on base + corrected site frames

Every epoch appends a line to ``<run>/train_log.jsonl`` (metrics, seconds), Ultralytics keeps
``results.csv`` and ``weights/{last,best}.pt``; ``--resume`` picks up the interrupted run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

from ml import mix
from ml.common import (
    DEFAULT_DATASET,
    DEFAULT_RUNS,
    configure_offline_ultralytics,
    dataset_fingerprint,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET, help="YOLO dataset folder (images/, labels/)")
    parser.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="where runs are written")
    parser.add_argument("--name", default="packages", help="run name (folder under --runs)")
    parser.add_argument("--model", default="yolov8n.yaml", help="architecture yaml (or a .pt to fine-tune)")
    parser.add_argument("--init", default="coco", choices=["coco", "scratch"],
                        help="with the architecture yaml: start from ../shared/pretrained's COCO YOLOv8n "
                             "(converted once by ml.pretrained) or from random weights")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--time", type=float, default=None, help="train for this many hours instead of --epochs")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--optimizer", default="SGD", help="pinned: 'auto' switches optimizer past 10k iterations")
    parser.add_argument("--lr0", type=float, default=0.01)
    parser.add_argument("--lrf", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.937)
    parser.add_argument("--weight-decay", type=float, default=0.0005)
    parser.add_argument("--warmup-epochs", type=float, default=3.0)
    parser.add_argument("--cos-lr", action="store_true")
    parser.add_argument("--mosaic", type=float, default=1.0)
    parser.add_argument("--close-mosaic", type=int, default=10)
    parser.add_argument("--patience", type=int, default=100)
    parser.add_argument("--max-det", type=int, default=300, help="full depots are dense; keep >= 300")
    parser.add_argument("--device", default="cpu", help="'cpu', '0' for the first GPU")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads on the CPU")
    parser.add_argument("--cache", default="false", choices=["false", "ram", "disk"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue <runs>/<name>/weights/last.pt")
    parser.add_argument("--synth", type=Path, action="append", default=[],
                        help="synthetic YOLO folder from `python -m ml.synth` to mix in (repeatable)")
    parser.add_argument("--site", type=Path, action="append", default=[],
                        help="site dataset from `manage.py import_labels` to mix in (repeatable)")
    parser.add_argument("--site-repeat", type=int, default=1,
                        help="list each site image this many times (site frames are few beside the base data)")
    parser.add_argument("--synth-count", type=int, default=0, help="use this many synthetic frames (0 = all)")
    parser.add_argument("--gray-fraction", type=float, default=0.0,
                        help="add this share of the real training images again as grayscale copies")
    parser.add_argument("--hold-out-family", action="append", default=[], metavar="FAMILY",
                        help="leave this manifest family out of training and val (repeatable)")
    parser.add_argument("--hyp", action="append", default=[], metavar="KEY=VALUE",
                        help="any other Ultralytics train argument, e.g. --hyp degrees=5 (repeatable)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.imgsz < 32 or args.batch < 1:
        parser.error("--epochs, --imgsz and --batch must be positive (imgsz >= 32)")
    return args


def parse_hyp(pairs: list[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into typed Ultralytics arguments."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"error: --hyp expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def _read_results_csv_without_polars(self) -> dict[str, list]:
    """Stand-in for BaseTrainer.read_results_csv where polars is not installed (GPU images)."""
    with open(self.csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {key.strip(): [float(r[key]) for r in rows] for key in (rows[0].keys() if rows else [])}


def patch_ultralytics_for_offline() -> None:
    """Two network or optional-dependency touches that break training on a closed machine."""
    from ultralytics.engine import trainer

    # AMP self-check downloads yolo26n.pt; offline it can only fail or hang. AMP is safe on CUDA here.
    trainer.check_amp = lambda model: True
    try:
        import polars  # noqa: F401
    except ImportError:
        trainer.BaseTrainer.read_results_csv = _read_results_csv_without_polars


def epoch_logger(log_path: Path):
    started = time.time()

    def on_fit_epoch_end(trainer) -> None:
        # Ultralytics fires this once more after training, for the final validation of best.pt.
        final = trainer.epoch + 1 > trainer.epochs
        record = {
            "epoch": "final(best.pt)" if final else trainer.epoch + 1,
            "epochs": trainer.epochs,
            "elapsed_s": round(time.time() - started, 1),
            **{k: round(float(v), 5) for k, v in (trainer.metrics or {}).items()},
        }
        with log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        print(f"[ml.train] epoch {record['epoch']}/{record['epochs']} "
              f"mAP50={record.get('metrics/mAP50(B)', 0):.3f} "
              f"mAP50-95={record.get('metrics/mAP50-95(B)', 0):.3f} elapsed={record['elapsed_s']}s", flush=True)

    return on_fit_epoch_end


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    run_dir = (args.runs / args.name).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    configure_offline_ultralytics(args.runs.resolve())

    import torch
    from ultralytics import YOLO
    from ultralytics.utils import torch_utils

    # Ultralytics caps torch at cpu_count - 1 threads (1 on a 2-core box); measured 191 s -> 110 s/epoch at 2.
    torch_utils.NUM_THREADS = args.threads
    torch.set_num_threads(args.threads)
    patch_ultralytics_for_offline()

    last = run_dir / "weights" / "last.pt"
    if args.resume:
        if not last.is_file():
            raise SystemExit(f"error: nothing to resume, {last} does not exist")
        model = YOLO(str(last))
        model.add_callback("on_fit_epoch_end", epoch_logger(run_dir / "train_log.jsonl"))
        model.train(resume=True, workers=args.workers, device=args.device)
        return run_dir

    if not args.data.is_dir():
        raise SystemExit(f"error: dataset folder {args.data} does not exist")
    data_yaml, parts = mix.build(
        mix.Mix(real=args.data, synth=args.synth, synth_count=args.synth_count, gray_fraction=args.gray_fraction,
                hold_out=tuple(args.hold_out_family), seed=args.seed, site=args.site, site_repeat=args.site_repeat),
        args.runs.resolve() / f"{args.name}-data",
    )
    print(f"[ml.train] training mix: {parts}", flush=True)
    (run_dir / "mix.json").write_text(json.dumps({"parts": parts, "synth": [str(p) for p in args.synth],
                                                   "site": [str(p) for p in args.site],
                                                   "hold_out_family": args.hold_out_family}, indent=2) + "\n")
    (run_dir / "data_fingerprint.txt").write_text(dataset_fingerprint(args.data) + "\n")
    (run_dir / "command.txt").write_text("python -m ml.train " + " ".join(argv or os.sys.argv[1:]) + "\n")

    start = args.model
    if args.init == "coco" and str(args.model).endswith(".yaml"):
        from ml.pretrained import PretrainedError, ensure_checkpoint

        try:
            start = str(ensure_checkpoint(dataset=args.data))
        except PretrainedError as exc:
            raise SystemExit(f"error: --init coco: {exc} (or train from random weights: --init scratch)") from None
    (run_dir / "init.txt").write_text(f"{start}\n")
    model = YOLO(start)
    model.add_callback("on_fit_epoch_end", epoch_logger(run_dir / "train_log.jsonl"))
    train_args: dict[str, Any] = dict(
        data=str(data_yaml), project=str(args.runs.resolve()), name=args.name, exist_ok=True,
        epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, optimizer=args.optimizer, lr0=args.lr0,
        lrf=args.lrf, momentum=args.momentum, weight_decay=args.weight_decay, warmup_epochs=args.warmup_epochs,
        cos_lr=args.cos_lr, mosaic=args.mosaic, close_mosaic=args.close_mosaic, patience=args.patience,
        max_det=args.max_det, device=args.device, workers=args.workers, seed=args.seed,
        cache=False if args.cache == "false" else args.cache, single_cls=True,
        # Ultralytics 8.4 drops a .pt model's weights when pretrained=False: fine-tuning needs True.
        pretrained=str(start).endswith(".pt"),
        plots=False, amp=args.device != "cpu", verbose=False,
    )
    if args.time:
        train_args["time"] = args.time
    train_args.update(parse_hyp(args.hyp))
    model.train(**train_args)
    print(f"[ml.train] done: {run_dir / 'weights'}")
    return run_dir


if __name__ == "__main__":
    main()
