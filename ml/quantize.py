"""INT8 static quantization (ONNX Runtime, QDQ, per-channel), calibrated on TRAINING images that are
pre-processed exactly like serving (decode_image + letterbox).

    python -m ml.quantize --model ml/runs/export/package_detector.512.fp32.onnx \
        --out detection/weights/package_detector.int8.onnx
    python -m ml.quantize --model m.onnx --out m.int8.onnx --exclude none --activation int8   # other variants

Defaults are the measured winner (see detection/weights/MODEL_CARD.md): uint8 activations / int8
weights (the x86 fast path; int8 activations ran ~3x slower), and the detect head's box/score
decoding (DFL softmax, anchors, concat: ``--exclude tail``) kept in float, because its outputs are
pixel coordinates and probabilities with very different ranges. The FP32 model's metadata is copied.

Weights use a 7-bit range (``reduce_range``) by default. On x86 CPUs without VNNI (AVX2 only: many
AMD EPYC/Ryzen before Zen 4, older Xeons and laptops) ONNX Runtime multiplies u8 x s8 with
VPMADDUBSW, whose 16-bit intermediate sums saturate with full-range weights: the same INT8 file that
scores val mAP50 0.874 on an AVX-512 VNNI machine scored 0.748 (recall 0.885 -> 0.691) on an
AVX2-only EPYC, while 7-bit weights scored 0.873 there (ONNX Runtime's quantization guide names
reduce_range as the remedy). Not measured here: a VNNI machine (none was available); the 7-bit
weights lose a little precision in principle, the saturation loses far more where it happens.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from ml.common import DEFAULT_DATASET, list_images
from ml.export import add_metadata

EXCLUDE_CHOICES = ("none", "tail", "head")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ml.quantize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="FP32 ONNX from ml.export")
    parser.add_argument("--out", type=Path, required=True, help="INT8 ONNX to write")
    parser.add_argument("--calib", type=Path, default=DEFAULT_DATASET / "images" / "train",
                        help="folder of calibration images (use TRAINING images, never val)")
    parser.add_argument("--calib-images", type=int, default=300)
    parser.add_argument("--activation", choices=("uint8", "int8"), default="uint8")
    parser.add_argument("--no-reduce-range", dest="reduce_range", action="store_false",
                        help="full 8-bit weights (only safe where every serving CPU has VNNI, see below)")
    parser.add_argument("--exclude", choices=EXCLUDE_CHOICES, default="tail",
                        help="keep in float: nothing, the head's decode tail (DFL/anchors/concat), or the whole head")
    parser.add_argument("--method", choices=("minmax", "percentile", "entropy"), default="minmax")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"model {args.model} does not exist (run python -m ml.export first)")
    if args.calib_images < 1:
        parser.error("--calib-images must be >= 1")
    return args


def calibration_reader(images: list[Path], size: int, input_name: str):
    from onnxruntime.quantization import CalibrationDataReader

    from detection.detector import decode_image
    from detection.detector.preprocess import letterbox

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._iter = iter(images)
            self._done = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            path = next(self._iter, None)
            if path is None:
                return None
            decoded = decode_image(path.read_bytes(), target_size=size)
            tensor, _, _ = letterbox(decoded.pixels, size)
            self._done += 1
            if self._done % 50 == 0:
                print(f"[ml.quantize] calibrated {self._done}/{len(images)}", file=sys.stderr, flush=True)
            return {input_name: tensor}

    return Reader()


def nodes_to_exclude(model_path: Path, mode: str) -> list[str]:
    """Names of the detect head's nodes to keep in float (model.22 is YOLOv8's Detect module)."""
    import onnx

    if mode == "none":
        return []
    names = [node.name for node in onnx.load(str(model_path)).graph.node]
    head = [n for n in names if n.startswith("/model.22/")]
    if mode == "head":
        return head
    # "tail": everything after the per-scale conv branches (cv2 = box, cv3 = class).
    return [n for n in head if "/cv2." not in n and "/cv3." not in n]


def copy_metadata(source: Path, target: Path, extra: dict[str, str]) -> None:
    """The quantized model keeps the FP32 model's metadata (imgsz, names, provenance) plus ``extra``."""
    import onnx

    add_metadata(target, {**{p.key: p.value for p in onnx.load(str(source)).metadata_props}, **extra})


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from detection.detector import OnnxDetector

    probe = OnnxDetector(args.model, warmup=False)
    size, input_name = probe.input_size, probe.session.get_inputs()[0].name
    del probe
    pool = list_images(args.calib)
    if not pool:
        raise SystemExit(f"error: no calibration images in {args.calib}")
    images = random.Random(args.seed).sample(pool, min(args.calib_images, len(pool)))
    print(f"[ml.quantize] {args.model.name} ({size}px): {len(images)} calibration images from {args.calib}, "
          f"activations {args.activation}, exclude {args.exclude}, {args.method}", file=sys.stderr, flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(args.model), str(prepped))
        excluded = nodes_to_exclude(prepped, args.exclude)
        quantize_static(
            str(prepped), str(args.out), calibration_reader(images, size, input_name),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8 if args.activation == "uint8" else QuantType.QInt8,
            weight_type=QuantType.QInt8, nodes_to_exclude=excluded, reduce_range=args.reduce_range,
            calibrate_method={"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                              "entropy": CalibrationMethod.Entropy}[args.method],
            # Flush collected activation ranges every 16 images instead of keeping all in RAM.
            extra_options={"CalibMaxIntermediateOutputs": 16},
        )
    copy_metadata(args.model, args.out, {
        "precision": "int8",
        "quantization": (f"onnxruntime {ort.__version__} static QDQ per-channel, activations {args.activation}, "
                         f"weights int8{' (7-bit range)' if args.reduce_range else ''}, {args.method}, {len(images)} train images, float nodes: {args.exclude} "
                         f"({len(excluded)})"),
    })
    print(f"[ml.quantize] wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return args.out


if __name__ == "__main__":
    main()
