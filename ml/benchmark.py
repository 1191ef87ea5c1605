"""CPU benchmark on the same frames: Ultralytics PyTorch ``predict`` vs. our FP32 ONNX vs. our INT8 ONNX.

    python -m ml.benchmark                              # shipped INT8, its FP32 twin, gpu512 best.pt
    python -m ml.benchmark --images 20 --threads 1 2 --json ml/runs/benchmark.json
    python -m ml.benchmark --onnx a.int8.onnx b.int8.onnx --threads 1    # only these ONNX models

Every (engine, threads) cell runs in a fresh subprocess, so peak RSS and load time are honest.
Latency is end to end from JPEG bytes to boxes (decode + pre-process + model + NMS), frames are
val images re-encoded at ``--frame`` size (default 1920x1080, the architecture's camera budget).
The "container size proxy" sums the installed files of each stack's Python packages and their
dependencies (from package metadata) in this environment.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ml.common import DEFAULT_DATASET, PROJECT_ROOT, list_images

DEFAULT_PT = PROJECT_ROOT / "ml" / "reports" / "gpu512" / "best.pt"
DEFAULT_FP32 = PROJECT_ROOT / "ml" / "runs" / "export" / "package_detector.416.fp32.onnx"
SERVING_STACK = ("onnxruntime", "numpy", "pillow", "opencv-python-headless")
PYTORCH_STACK = ("torch", "torchvision", "ultralytics", "numpy", "pillow", "opencv-python-headless")


def make_frames(folder: Path, count: int, frame: tuple[int, int]) -> list[bytes]:
    from PIL import Image

    frames = []
    for path in list_images(folder)[:count]:
        with Image.open(path) as image:
            out = io.BytesIO()
            image.convert("RGB").resize(frame, Image.BILINEAR).save(out, "JPEG", quality=90)
            frames.append(out.getvalue())
    return frames


def worker(engine: str, model: Path, threads: int, frames_file: Path, imgsz: int, rounds: int) -> dict:
    """Runs inside the subprocess: load, warm up, time every frame ``rounds`` times."""
    import cv2

    cv2.setNumThreads(threads)
    frames = [bytes(f) for f in np.load(frames_file, allow_pickle=True)]
    started = time.perf_counter()
    if engine == "pytorch":
        os.environ.setdefault("YOLO_OFFLINE", "1")
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(threads)
        yolo = YOLO(str(model))

        def run(data: bytes) -> int:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            result = yolo.predict(image, imgsz=imgsz, conf=0.30, iou=0.45, max_det=300, device="cpu", verbose=False)
            return len(result[0].boxes)

        run(frames[0])  # Ultralytics builds its predictor on the first call
    else:
        from detection.detector import OnnxDetector, decode_image

        detector = OnnxDetector(model, threads=threads)  # warms up once

        def run(data: bytes) -> int:
            return detector.detect(decode_image(data, target_size=detector.input_size)).count

    load_s = time.perf_counter() - started
    for data in frames[:3]:
        run(data)
    latencies, counts = [], []
    for _ in range(rounds):
        for data in frames:
            t0 = time.perf_counter()
            counts.append(run(data))
            latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "engine": engine, "threads": threads, "load_s": load_s,
        "median_ms": float(np.median(latencies)), "p95_ms": float(np.percentile(latencies, 95)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "mean_count": float(np.mean(counts)),
    }


def stack_size_mb(roots: tuple[str, ...]) -> tuple[float, list[str]]:
    """Installed bytes of ``roots`` and their (non-extra) dependency closure, from package metadata."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [canonicalize_name(r) for r in roots]
    total = 0
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        total += sum((Path(dist.locate_file(f)).stat().st_size for f in dist.files or []
                      if Path(dist.locate_file(f)).is_file()), 0)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return total / 1e6, sorted(seen)


def run_cell(engine: str, model: Path, threads: int, frames_file: Path, imgsz: int, rounds: int) -> dict:
    cmd = [sys.executable, "-m", "ml.benchmark", "--worker", engine, "--worker-model", str(model),
           "--worker-frames", str(frames_file), "--threads", str(threads), "--imgsz", str(imgsz),
           "--rounds", str(rounds)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"error: {engine} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    from detection.detector import DEFAULT_MODEL_PATH

    parser = argparse.ArgumentParser(prog="python -m ml.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--int8", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--fp32", type=Path, default=DEFAULT_FP32)
    parser.add_argument("--pt", type=Path, default=DEFAULT_PT, help="Ultralytics checkpoint for the PyTorch baseline")
    parser.add_argument("--imgsz", type=int, default=0, help="PyTorch predict size (default: the INT8 model's)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET / "images" / "val")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--frame", default="1920x1080", help="re-encode frames at WxH ('native' keeps them)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--onnx", type=Path, nargs="+", default=None,
                        help="time only these ONNX models (e.g. two candidates), no PyTorch baseline")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", choices=("pytorch", "onnx"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-frames", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.worker_model, args.threads[0], args.worker_frames,
                                args.imgsz, args.rounds)))
        return {}

    for path in args.onnx or (args.int8, args.fp32, args.pt):
        if not path.is_file():
            parser.error(f"{path} does not exist")
    from detection.detector import OnnxDetector

    imgsz = args.imgsz or OnnxDetector((args.onnx or [args.int8])[0], warmup=False).input_size
    if args.frame == "native":
        frames = [p.read_bytes() for p in list_images(args.data)[: args.images]]
    else:
        width, height = (int(v) for v in args.frame.lower().split("x"))
        frames = make_frames(args.data, args.images, (width, height))
    if not frames:
        raise SystemExit(f"error: no images in {args.data}")
    frames_file = PROJECT_ROOT / "ml" / "runs" / "benchmark_frames.npy"
    frames_file.parent.mkdir(parents=True, exist_ok=True)
    np.save(frames_file, np.array(frames, dtype=object), allow_pickle=True)

    rows = []
    cells = [("onnx", model.name, model) for model in args.onnx] if args.onnx else [
        ("pytorch", "PyTorch (Ultralytics predict)", args.pt), ("onnx", "ONNX FP32 (ours)", args.fp32),
        ("onnx", "ONNX INT8 (ours)", args.int8)]
    for engine, label, model in cells:
        for threads in args.threads:
            print(f"[ml.benchmark] {label}, {threads} thread(s) ...", file=sys.stderr, flush=True)
            row = run_cell(engine, model, threads, frames_file, imgsz, args.rounds)
            row.update(label=label, file_mb=model.stat().st_size / 1e6)
            rows.append(row)
    serving_mb, serving_pkgs = stack_size_mb(SERVING_STACK)
    pytorch_mb, pytorch_pkgs = stack_size_mb(PYTORCH_STACK)
    report = {"frames": len(frames), "frame": args.frame, "imgsz": imgsz, "rounds": args.rounds, "cpu": _cpu_name(),
              "rows": rows, "stack_mb": {"serving (onnxruntime)": serving_mb, "pytorch (ultralytics)": pytorch_mb},
              "stack_packages": {"serving": serving_pkgs, "pytorch": pytorch_pkgs}}
    print_table(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return report


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def print_table(report: dict) -> None:
    print(f"{report['frames']} frames at {report['frame']}, model input {report['imgsz']}px, CPU {report['cpu']}")
    print(f"{'engine':<31}{'thr':>4}{'median ms':>11}{'p95 ms':>9}{'load s':>8}{'peak RSS MB':>13}{'file MB':>9}")
    for r in report["rows"]:
        print(f"{r['label']:<31}{r['threads']:>4}{r['median_ms']:>11.1f}{r['p95_ms']:>9.1f}{r['load_s']:>8.2f}"
              f"{r['peak_rss_mb']:>13.0f}{r['file_mb']:>9.1f}")
    stacks = report["stack_mb"]
    print("installed Python packages (container size proxy): "
          + ", ".join(f"{k} {v:.0f} MB" for k, v in stacks.items()))
    base = {r["threads"]: r for r in report["rows"] if r["label"].startswith("PyTorch")}
    for r in report["rows"]:
        if "INT8" in r["label"] and r["threads"] in base:
            b = base[r["threads"]]
            print(f"INT8 vs PyTorch at {r['threads']} thread(s): latency {100 * (r['median_ms'] / b['median_ms'] - 1):+.1f} %,"
                  f" peak RSS {100 * (r['peak_rss_mb'] / b['peak_rss_mb'] - 1):+.1f} %")
    if not base:
        return
    serving, pytorch = stacks["serving (onnxruntime)"], stacks["pytorch (ultralytics)"]
    print(f"container proxy: {100 * (serving / pytorch - 1):+.1f} %")


if __name__ == "__main__":
    main()
