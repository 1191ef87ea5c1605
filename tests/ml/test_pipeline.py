"""check_dataset -> train -> export -> quantize -> evaluate on a generated dataset, end to end.

One epoch at 64 px: the model learns nothing useful; the test is that every stage runs and hands the
next one files with the metadata the product relies on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx

from ml import check_dataset, evaluate, export, quantize
from ml.common import dataset_fingerprint

REPO = Path(__file__).resolve().parents[2]


def metadata(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_pipeline_end_to_end(tiny_dataset: Path, tmp_path: Path):
    assert check_dataset.main([str(tiny_dataset)]) == 0

    runs = tmp_path / "runs"
    # A subprocess: Ultralytics training changes process-wide state (threads, logging, settings).
    env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp_path / "yolo"), "YOLO_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "ml.train", "--data", str(tiny_dataset), "--runs", str(runs),
                    "--name", "tiny", "--init", "scratch", "--epochs", "1", "--imgsz", "64", "--batch", "4", "--workers", "0",
                    "--hyp", "val=False"], cwd=REPO, env=env, check=True, timeout=240)
    weights = runs / "tiny" / "weights" / "last.pt"
    assert weights.is_file()
    assert (runs / "tiny" / "data_fingerprint.txt").read_text().strip() == dataset_fingerprint(tiny_dataset)

    fp32 = export.main(["--weights", str(weights), "--imgsz", "64", "--out", str(tmp_path / "m.fp32.onnx")])
    meta = metadata(fp32)
    assert meta["imgsz"] == "[64, 64]" and meta["names"] == "{0: 'package'}"
    assert meta["data_fingerprint"] == dataset_fingerprint(tiny_dataset)
    assert meta["precision"] == "fp32" and meta["source_checkpoint_sha256"]
    assert json.loads(meta["training_metrics"])["epochs"] == 1
    input_shape = [d.dim_value for d in onnx.load(str(fp32)).graph.input[0].type.tensor_type.shape.dim]
    assert input_shape == [1, 3, 64, 64]  # fixed, not dynamic

    int8 = quantize.main(["--model", str(fp32), "--out", str(tmp_path / "m.int8.onnx"),
                          "--calib", str(tiny_dataset / "images" / "train"), "--calib-images", "4"])
    qmeta = metadata(int8)
    assert qmeta["precision"] == "int8" and qmeta["imgsz"] == "[64, 64]"
    assert qmeta["data_fingerprint"] == meta["data_fingerprint"]
    # 7-bit weights: full-range u8 x s8 saturates on AVX2-only CPUs (val mAP50 0.874 -> 0.748 there).
    assert "7-bit range" in qmeta["quantization"]
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(int8)).graph.node)

    report_path = tmp_path / "eval.json"
    report = evaluate.main([str(tiny_dataset), "--model", str(int8), "--json", str(report_path)])
    saved = json.loads(report_path.read_text())
    assert saved["images"] == 4 and saved["input_size"] == 64
    assert saved["boxes"] == sum(len(p.read_text().split("\n")) - 1
                                 for p in (tiny_dataset / "labels" / "val").glob("*.txt"))
    assert set(saved["detection"]) >= {"precision", "recall", "map50", "map50_95"}
    assert set(saved["counting"]) == {"all", "1-4", "5-9", "10-19", "20+"}
    assert 0 <= report["detection"]["map50"] <= 1
