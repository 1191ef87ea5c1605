"""benchmarks.null_model: a stand-in the real serving path loads like the shipped model and that counts nothing."""

import numpy as np
import onnxruntime as ort

from benchmarks.null_model import NAME, SHIPPED_MODEL, VERSION, write_null_model
from detection.detector import OnnxDetector


def signature(path) -> tuple[list, list]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return ([(i.name, i.shape, i.type) for i in session.get_inputs()],
            [(o.name, o.shape, o.type) for o in session.get_outputs()])


def test_it_has_the_shipped_models_input_and_output(tmp_path):
    assert signature(write_null_model(tmp_path / "null.onnx")) == signature(SHIPPED_MODEL)


def test_it_loads_in_the_real_detector_and_finds_no_box(tmp_path):
    # The server loads MODEL_PATH through OnnxDetector: input size and names come from the metadata.
    detector = OnnxDetector(write_null_model(tmp_path / "null.onnx"))
    assert (detector.input_size, detector.class_names) == (416, {0: "package"})
    assert (detector.model_name, detector.version) == (NAME, VERSION)  # what /healthz and events then say
    busy = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    result = detector.detect(busy, conf=0.001)  # even the lowest threshold keeps nothing: every score is 0
    assert result.detections == []
    assert (result.image_width, result.image_height) == (1920, 1080)


def test_its_output_is_zeros_whatever_the_input(tmp_path):
    session = ort.InferenceSession(str(write_null_model(tmp_path / "null.onnx")), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"images": np.full((1, 3, 416, 416), 0.7, np.float32)})
    assert output.shape == (1, 5, 3549)
    assert not output.any()
