"""ml.pretrained: the shared COCO YOLOv8n ONNX file becomes a checkpoint that computes what the file computes.

The conversion is what every trained model now starts from; if a weight landed in the wrong module or
a batch-norm were set wrongly, training would silently start from noise (box loss 4.3 instead of 2.1).
"""

from __future__ import annotations

import copy
from pathlib import Path

import onnx
import pytest
import torch
from onnx import helper

from ml import pretrained
from tests.conftest import dataset_dir

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "simulation" / "samples").glob("warehouse_*.jpg"))


def pretrained_onnx() -> Path:
    path = pretrained.DEFAULT_ONNX
    if not path.is_file():
        raise RuntimeError(f"{path} not found: the COCO weights live in ../shared/pretrained")
    return path


@pytest.fixture(scope="module")
def converted():
    pretrained.configure_offline_ultralytics(pretrained.DEFAULT_RUNS)
    model, loaded = pretrained.build_model(pretrained.read_onnx_weights(pretrained_onnx()))
    return model, loaded


def test_it_puts_every_convolution_of_the_file_into_yolov8n(converted):
    _, loaded = converted
    # YOLOv8n has 64 learned convolutions besides the DFL's fixed 0..15 projection; all come from the file.
    assert loaded == 64


def test_the_converted_model_scores_real_frames_like_the_onnx_file(converted):
    model, _ = converted
    agreement = pretrained.check(model, pretrained_onnx(), pretrained.sample_frames(dataset_dir(), 6, seed=1))
    assert agreement.confident_anchors > 10  # real depot frames hold things COCO's model is sure about
    assert agreement.class_score_correlation >= pretrained.MIN_CLASS_SCORE_CORRELATION
    assert agreement.box_correlation >= pretrained.MIN_BOX_CORRELATION


def test_calibrated_batch_norm_reproduces_the_folded_network_in_train_mode(converted):
    model, _ = converted
    model = copy.deepcopy(model)
    frames = pretrained.sample_frames(dataset_dir(), 6)
    pretrained.calibrate(model, frames, batch=len(frames), size=320)
    x = torch.cat([torch.from_numpy(pretrained._letterbox(p, 320)) for p in frames])
    backbone = model.model[:10]  # up to SPPF: its output feeds every later layer
    with torch.no_grad():
        backbone.eval()
        folded = _run(backbone, x)
        backbone.train()  # BN now normalises by this batch's own statistics, as in training
        trained = _run(backbone, x)
    assert torch.corrcoef(torch.stack([folded.ravel(), trained.ravel()]))[0, 1] > 0.999


def _run(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def test_a_truncated_file_is_refused_with_a_message(tmp_path: Path):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(pretrained_onnx().read_bytes()[:200_000])
    with pytest.raises(pretrained.PretrainedError, match="not a readable ONNX file.*truncated"):
        pretrained.read_onnx_weights(cut)


def test_an_onnx_file_of_another_kind_is_refused(tmp_path: Path):
    # The product's own INT8 model is a valid YOLOv8n ONNX file, but statically quantized (QDQ), one class.
    shipped = REPO / "detection" / "weights" / "package_detector.int8.onnx"
    with pytest.raises(pretrained.PretrainedError, match="not the COCO start"):
        pretrained.read_onnx_weights(shipped)
    other = tmp_path / "identity.onnx"  # a valid ONNX file with no convolutions at all
    onnx.save(helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])), str(other))
    with pytest.raises(pretrained.PretrainedError, match="does not hold a dynamically quantized YOLOv8n"):
        pretrained.read_onnx_weights(other)
    with pytest.raises(pretrained.PretrainedError, match="does not exist"):
        pretrained.read_onnx_weights(tmp_path / "missing.onnx")


def test_the_command_refuses_a_wrong_file_in_one_line(tmp_path: Path, capsys):
    image = tmp_path / "frame.onnx"
    image.write_bytes(SAMPLES[0].read_bytes())
    assert pretrained.main(["--onnx", str(image), "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not (tmp_path / "x.pt").exists()
