"""A stand-in detector that finds nothing at almost no cost, for load tests of everything but the model.

    python -m benchmarks.null_model /tmp/null.onnx          # then MODEL_PATH=/tmp/null.onnx, or
    python -m benchmarks.ingest --model /tmp/null.onnx       # --model of the other benchmarks

The shipped model costs ~14 ms of CPU per frame on the 2-core dev box, so 100 cameras at 1 frame/s
cannot be served there, and a benchmark of what the *rest* of the server costs (HTTP, multipart,
decode, checks, storage, the transaction, history, broadcasts, renders) would measure the model
first. This writes an ONNX file with the shipped model's input and output (names, 1x3x416x416 ->
1x5x3549, float32) and the metadata OnnxDetector reads (imgsz, names), whose output is all zeros:
every score is 0, so postprocessing keeps no box and every frame counts 0. Its graph takes one
pixel of the input (Slice) times a zero constant, so ONNX Runtime cannot fold the input away and
still runs a session per frame. Its metadata says what it is (model_name "null_zeros", version
"null-zeros"), which is what /healthz and every stored event's model label then show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "detection" / "weights" / "package_detector.int8.onnx"
NAME, VERSION = "null_zeros", "null-zeros"
KEPT_METADATA = ("imgsz", "names", "stride", "task", "batch", "channels")  # what the detector or a reader uses


def _dims(value_info) -> list[int]:
    dims = [d.dim_value for d in value_info.type.tensor_type.shape.dim]
    if not all(dims):
        raise ValueError(f"{value_info.name}: needs a fixed shape, has {value_info.type.tensor_type.shape}")
    return dims


def build_null_model(like: Path = SHIPPED_MODEL) -> onnx.ModelProto:
    """A model with ``like``'s input and output (names, shapes) that returns zeros."""
    reference = onnx.load(str(like), load_external_data=False)  # the graph's signature and metadata only
    source, target = reference.graph.input[0], reference.graph.output[0]
    in_dims, out_dims = _dims(source), _dims(target)
    rank = len(in_dims)
    initializers = [
        numpy_helper.from_array(np.zeros(rank, np.int64), "starts"),
        numpy_helper.from_array(np.ones(rank, np.int64), "ends"),
        numpy_helper.from_array(np.ones(len(out_dims), np.int64), "one_pixel_shape"),
        numpy_helper.from_array(np.zeros(out_dims, np.float32), "zeros"),
    ]
    nodes = [
        helper.make_node("Slice", [source.name, "starts", "ends"], ["pixel"]),  # [1, 1, 1, 1]
        helper.make_node("Reshape", ["pixel", "one_pixel_shape"], ["pixel_1d"]),  # [1, 1, 1]
        helper.make_node("Mul", ["pixel_1d", "zeros"], [target.name]),  # broadcast: out_dims of 0.0
    ]
    graph = helper.make_graph(
        nodes, NAME,
        [helper.make_tensor_value_info(source.name, TensorProto.FLOAT, in_dims)],
        [helper.make_tensor_value_info(target.name, TensorProto.FLOAT, out_dims)],
        initializers,
    )
    # The reference's IR version and ONNX opset: what the serving ONNX Runtime already loads.
    opset = next((o.version for o in reference.opset_import if o.domain in ("", "ai.onnx")), 17)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="benchmarks.null_model")
    model.ir_version = reference.ir_version
    metadata = {p.key: p.value for p in reference.metadata_props if p.key in KEPT_METADATA}
    metadata.update(model_name=NAME, version=VERSION,
                    description=f"benchmarks.null_model: zeros shaped like {like.name}'s output (no boxes, ever)")
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def write_null_model(path: Path, like: Path = SHIPPED_MODEL) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build_null_model(like), str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.null_model", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="where to write the .onnx file")
    parser.add_argument("--like", type=Path, default=SHIPPED_MODEL, help="model whose input/output to copy")
    args = parser.parse_args(argv)
    print(write_null_model(args.out, args.like))
    return 0


if __name__ == "__main__":
    sys.exit(main())
