"""Turn the COCO-pretrained YOLOv8n in ``../shared/pretrained`` into a checkpoint ``ml.train`` can start from.

    python -m ml.pretrained                       # -> ml/runs/pretrained/yolov8n-coco.pt (+ a check report)
    python -m ml.pretrained --check-only          # compare an existing conversion with the ONNX file

The shared file is Ultralytics' YOLOv8n (COCO, 80 classes) exported to ONNX with each batch-norm folded
into its convolution, then dynamically quantized by ONNX Runtime: every convolution is a
``ConvInteger`` with a uint8 weight ``<module>.weight_quantized``, a per-tensor ``weight_scale`` and
``weight_zero_point``, and a float32 ``<module>.bias``. The initializer names are the PyTorch module
names, so each dequantized weight ``(q - zero_point) * scale`` goes back into the same module of an
Ultralytics ``DetectionModel`` built from ``yolov8n.yaml``.

Batch-norm: the folded convolution is ``W x + b``. Each ``Conv`` block of Ultralytics is conv → BN →
SiLU, so the BN must reproduce ``+ b``. In eval mode that is ``gamma = 1, beta = b, mean = 0,
var = 1 - eps``; but training runs BN in train mode, which normalises by the batch's own statistics and
would throw the pretrained scale away on the first step. So the BN statistics are measured on a few
batches of our own frames (``calibrate``): with the per-channel mean ``m`` and variance ``v`` of ``W x``,
``gamma = sqrt(v + eps), beta = b + m, running_mean = m, running_var = v`` gives ``W x + b`` in eval mode
exactly and, in train mode, on batches that look like ours, approximately.

Licence: the weights are AGPL-3.0 (Ultralytics); a model fine-tuned from them is a derivative.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection.detector.files import file_sha256
from ml.common import DEFAULT_DATASET, DEFAULT_RUNS, PROJECT_ROOT, configure_offline_ultralytics, list_images

PRETRAINED_NAME = "yolov8n-coco.int8-dynamic.onnx"
# Beside the checkout (../shared), or the workplace's shared folder when the checkout lives elsewhere (CI clones).
DEFAULT_ONNX = next((path for path in (PROJECT_ROOT.parent / "shared" / "pretrained" / PRETRAINED_NAME,
                                       Path("/work/shared/pretrained") / PRETRAINED_NAME) if path.is_file()),
                    PROJECT_ROOT.parent / "shared" / "pretrained" / PRETRAINED_NAME)
DEFAULT_OUT = DEFAULT_RUNS / "pretrained" / "yolov8n-coco.pt"
KNOWN_SHA256 = "83de8f0d2cd521e00ae2b138c340a03dece35b060b3898509bdc69afff417312"
INPUT_SIZE = 640
COCO_CLASSES = 80
# Agreement bounds the conversion must meet against the ONNX file on real frames (``check``): the ONNX
# file quantizes activations to 8 bits at run time, the conversion runs in float, so they differ a little.
MIN_CLASS_SCORE_CORRELATION = 0.97
MIN_BOX_CORRELATION = 0.99


class PretrainedError(ValueError):
    """The pretrained file is missing, truncated or not the YOLOv8n layout this module understands."""


@dataclass
class Agreement:
    frames: int
    class_score_correlation: float  # Pearson r over every anchor x class score of every frame
    box_correlation: float  # Pearson r over every anchor's (cx, cy, w, h) where some class scores >= 0.25
    confident_anchors: int

    @property
    def ok(self) -> bool:
        return (self.class_score_correlation >= MIN_CLASS_SCORE_CORRELATION
                and self.box_correlation >= MIN_BOX_CORRELATION)


def read_onnx_weights(onnx_path: Path) -> dict[str, np.ndarray]:
    """``{"model.0.conv.weight": float32 array, "model.0.conv.bias": ..., ...}`` from the quantized file."""
    import onnx
    from onnx import numpy_helper

    if not onnx_path.is_file():
        raise PretrainedError(f"{onnx_path} does not exist (see ../shared/pretrained/SOURCE.md)")
    try:
        graph = onnx.load(str(onnx_path)).graph
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... for a damaged file
        raise PretrainedError(f"{onnx_path} is not a readable ONNX file ({type(exc).__name__}: {exc}); "
                              "is it truncated? Its SHA-256 should be " + KNOWN_SHA256) from None
    tensors = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    out: dict[str, np.ndarray] = {}
    for name, quantized in tensors.items():
        if not name.endswith(".weight_quantized"):
            continue
        module = name[: -len(".weight_quantized")]
        scale = tensors.get(f"{module}.weight_scale")
        zero_point = tensors.get(f"{module}.weight_zero_point")
        if scale is None or zero_point is None:
            raise PretrainedError(f"{onnx_path}: {module} has a quantized weight but no scale/zero point")
        # Per-tensor in the shared file; per-output-channel in other quantizers' files.
        shape = (-1,) + (1,) * (quantized.ndim - 1) if np.ndim(scale) == 1 and quantized.ndim > 1 else ()
        scale = np.asarray(scale, np.float32).reshape(shape) if shape else np.float32(scale)
        zero_point = np.asarray(zero_point, np.float32).reshape(shape) if shape else np.float32(zero_point)
        out[f"{module}.weight"] = (quantized.astype(np.float32) - zero_point) * scale
    for name, value in tensors.items():
        if name.startswith("model.") and name.endswith(".bias"):
            out[name] = value.astype(np.float32)
    if not any(k.startswith("model.22.") for k in out) or len(out) < 100:
        raise PretrainedError(f"{onnx_path} does not hold a dynamically quantized YOLOv8n's convolutions "
                              f"({len(out)} weight/bias tensors found, YOLOv8n has 127): not the COCO start")
    return out


def build_model(weights: dict[str, np.ndarray]):
    """An 80-class Ultralytics YOLOv8n carrying the folded weights (BN set to ``+ bias``, eval-exact)."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel("yolov8n.yaml", nc=COCO_CLASSES, verbose=False)
    state = model.state_dict()
    loaded, missing = 0, []
    with torch.no_grad():
        for key in state:
            if not key.endswith(".weight") or key.endswith("bn.weight"):
                continue
            module = key[: -len(".weight")]
            if key not in weights:
                if not module.endswith("dfl.conv"):  # the DFL's fixed 0..15 projection is not a weight to learn
                    missing.append(key)
                continue
            src = torch.from_numpy(weights[key])
            if tuple(src.shape) != tuple(state[key].shape):
                raise PretrainedError(f"{key}: shape {tuple(src.shape)} in the ONNX file, "
                                      f"{tuple(state[key].shape)} in the 80-class YOLOv8n: not the COCO YOLOv8n")
            state[key].copy_(src)
            loaded += 1
            bias = torch.from_numpy(weights.get(f"{module}.bias", np.zeros(src.shape[0], np.float32)))
            if module.endswith(".conv") and f"{module[:-5]}.bn.weight" in state:  # conv → BN block
                bn = module[:-5] + ".bn"
                eps = _bn(model, bn).eps
                state[f"{bn}.weight"].fill_(1.0)
                state[f"{bn}.bias"].copy_(bias)
                state[f"{bn}.running_mean"].zero_()
                state[f"{bn}.running_var"].fill_(1.0 - eps)
            elif f"{module}.bias" in state:  # the head's last convolutions carry their own bias
                state[f"{module}.bias"].copy_(bias)
    if missing:
        raise PretrainedError(f"the ONNX file lacks {len(missing)} of YOLOv8n's weights, e.g. {missing[:3]}")
    model.load_state_dict(state)
    model.names = {i: str(i) for i in range(COCO_CLASSES)}
    return model.eval(), loaded


def _bn(model, dotted: str):
    module = model
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _letterbox(path: Path, size: int = INPUT_SIZE) -> np.ndarray:
    """A frame as the exported model expects it: RGB, letterboxed with grey 114, 0..1, NCHW float32."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = size / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BILINEAR)
        canvas = Image.new("RGB", (size, size), (114, 114, 114))
        canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return (np.asarray(canvas, np.float32) / 255.0).transpose(2, 0, 1)[None]


def sample_frames(dataset: Path, count: int, seed: int = 0) -> list[Path]:
    images = list_images(dataset / "images" / "train") + list_images(dataset / "images" / "val")
    if not images:
        raise PretrainedError(f"no images under {dataset}/images/{{train,val}} to calibrate or check with")
    return random.Random(seed).sample(images, min(count, len(images)))


def calibrate(model, frames: list[Path], batch: int = 8, size: int = INPUT_SIZE) -> None:
    """Set every BN's statistics from our frames so train mode reproduces the folded convolution."""
    import torch

    sums: dict[str, list] = {}
    hooks = []
    for name, module in model.named_modules():
        if name.endswith(".conv") and isinstance(module, torch.nn.Conv2d) and hasattr(_bn(model, name[:-5]), "bn"):
            def hook(mod, inputs, output, name=name):
                y = output.detach().double()
                acc = sums.setdefault(name, [0, 0.0, 0.0])
                acc[0] += y.numel() // y.shape[1]
                acc[1] = acc[1] + y.sum(dim=(0, 2, 3))
                acc[2] = acc[2] + (y * y).sum(dim=(0, 2, 3))
            hooks.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        for start in range(0, len(frames), batch):
            x = torch.from_numpy(np.concatenate([_letterbox(p, size) for p in frames[start:start + batch]]))
            model(x)
    for handle in hooks:
        handle.remove()
    with torch.no_grad():
        for name, (n, total, squares) in sums.items():
            bn = _bn(model, name[:-5]).bn
            mean = total / n
            var = (squares / n - mean * mean).clamp_min(1e-6)
            beta = bn.bias.double()  # the folded bias, still there from build_model
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_((beta + mean).float())


def save_checkpoint(model, out: Path, source: Path, sha256: str) -> None:
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {
        "model": model,
        "train_args": {"imgsz": INPUT_SIZE, "task": "detect"},
        "pretrained_from": {"file": source.name, "sha256": sha256, "licence": "AGPL-3.0 (Ultralytics)"},
        "date": None, "version": None, "epoch": -1,
    }
    tmp = out.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(out)


def check(model, onnx_path: Path, frames: list[Path]) -> Agreement:
    """Compare the converted model (eval mode, float) with the ONNX file on ``frames``."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    model.eval()
    ours_all, theirs_all = [], []
    with torch.no_grad():
        for path in frames:
            x = _letterbox(path)
            theirs = session.run(None, {input_name: x})[0][0]  # 84 x 8400
            out = model(torch.from_numpy(x))
            ours = (out[0] if isinstance(out, (list, tuple)) else out)[0].numpy()
            ours_all.append(ours)
            theirs_all.append(theirs)
    ours, theirs = np.concatenate(ours_all, axis=1), np.concatenate(theirs_all, axis=1)
    cls_r = float(np.corrcoef(ours[4:].ravel(), theirs[4:].ravel())[0, 1])
    confident = theirs[4:].max(axis=0) >= 0.25
    box_r = float(np.corrcoef(ours[:4, confident].ravel(), theirs[:4, confident].ravel())[0, 1]) \
        if confident.sum() > 1 else float("nan")
    return Agreement(len(frames), cls_r, box_r, int(confident.sum()))


def convert(onnx_path: Path = DEFAULT_ONNX, out: Path = DEFAULT_OUT, dataset: Path = DEFAULT_DATASET,
            calibration_frames: int = 64, check_frames: int = 8, seed: int = 0) -> Agreement:
    """Convert, check against the ONNX file (refusing a conversion that disagrees), calibrate BN, save."""
    configure_offline_ultralytics(DEFAULT_RUNS)
    sha256 = file_sha256(onnx_path) if onnx_path.is_file() else ""
    model, loaded = build_model(read_onnx_weights(onnx_path))
    agreement = check(model, onnx_path, sample_frames(dataset, check_frames, seed + 1))
    if not agreement.ok:
        raise PretrainedError(f"the conversion disagrees with {onnx_path.name}: class-score r="
                              f"{agreement.class_score_correlation:.4f} (needs {MIN_CLASS_SCORE_CORRELATION}), "
                              f"box r={agreement.box_correlation:.4f} (needs {MIN_BOX_CORRELATION})")
    if calibration_frames:
        calibrate(model, sample_frames(dataset, calibration_frames, seed))
    save_checkpoint(model, out, onnx_path, sha256)
    report = {"onnx": str(onnx_path), "sha256": sha256, "known_sha256": sha256 == KNOWN_SHA256,
              "weights_loaded": loaded, "calibration_frames": calibration_frames,
              "agreement": agreement.__dict__, "checkpoint": str(out)}
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return agreement


def ensure_checkpoint(onnx_path: Path = DEFAULT_ONNX, out: Path = DEFAULT_OUT,
                      dataset: Path = DEFAULT_DATASET) -> Path:
    """The converted checkpoint, made on first use (``ml.train --init coco``)."""
    if not out.is_file():
        agreement = convert(onnx_path, out, dataset)
        print(f"[ml.pretrained] converted {onnx_path.name} -> {out} (class-score r="
              f"{agreement.class_score_correlation:.4f}, box r={agreement.box_correlation:.4f})", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.pretrained", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, default=DEFAULT_ONNX)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATASET, help="frames for BN calibration and the check")
    parser.add_argument("--calibration-frames", type=int, default=64)
    parser.add_argument("--check-frames", type=int, default=8)
    parser.add_argument("--check-only", action="store_true", help="only compare the ONNX file with a fresh conversion")
    args = parser.parse_args(argv)
    try:
        if args.check_only:
            configure_offline_ultralytics(DEFAULT_RUNS)
            model, _ = build_model(read_onnx_weights(args.onnx))
            agreement = check(model, args.onnx, sample_frames(args.data, args.check_frames, 1))
        else:
            agreement = convert(args.onnx, args.out, args.data, args.calibration_frames, args.check_frames)
    except PretrainedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(agreement.__dict__ | {"ok": agreement.ok}))
    if not args.check_only:
        print(f"checkpoint: {args.out}")
    return 0 if agreement.ok else 1


if __name__ == "__main__":
    sys.exit(main())
