"""ONNX Runtime detector: one session per process, built once, warmed up once, shared by threads."""

from __future__ import annotations

import ast
import functools
import logging
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detection.detector.base import Detection, DetectionResult
from detection.detector.decode import DecodedImage
from detection.detector.postprocess import postprocess
from detection.detector.preprocess import Canvas, letterbox

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "weights" / "package_detector.int8.onnx"
logger = logging.getLogger(__name__)

DEFAULT_CONF = 0.30
DEFAULT_IOU = 0.45
DEFAULT_MAX_DET = 300


def _parse_literal(value: str | None, default: object) -> object:
    if value is None:
        return default
    try:
        return ast.literal_eval(value)  # Ultralytics writes Python reprs: "[512, 512]", "{0: 'package'}"
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # deep or huge: the parser gives up
        return default


def _metadata_threshold(metadata: dict[str, str], key: str, default: float, low: float, high: float) -> float:
    """A threshold the model carries (``ml.threshold --write``); a missing or nonsensical value: ``default``."""
    try:
        value = float(metadata[key])
    except (KeyError, ValueError):
        return default
    return value if low <= value <= high else default


ARENA_EXTEND_NEXT_POWER_OF_TWO = 0  # ONNX Runtime's ArenaExtendStrategy.kNextPowerOfTwo


@functools.cache
def shared_arena() -> bool:
    """One CPU memory arena for every ONNX session of the process; True once registered.

    During a model switch, two sessions alive draw on this one arena instead of keeping one each
    (not measured). How it grows, and the sessions' memory pattern (OnnxDetector), were chosen by
    measuring (issue 18, /proc VmRSS after malloc_trim, two threads detecting 1080p frames at once,
    800 runs): an arena extended by what is asked, with the memory pattern on, grew by 17.5-17.7 MB;
    by powers of two 13.9-14.7 MB; by powers of two with the pattern off 6.2-8.1 MB, at the same
    CPU per run (15.2-15.35 vs 15.36-15.63 ms, one thread).
    """
    try:
        memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        # max_mem 0 (no cap), extend by powers of two, default initial chunk and dead bytes per chunk.
        ort.create_and_register_allocator(memory, ort.OrtArenaCfg(0, ARENA_EXTEND_NEXT_POWER_OF_TWO, -1, -1))
    except Exception:  # an ONNX Runtime without it: each session keeps its own arena, as before
        logger.warning("ONNX Runtime: no shared CPU arena; each session keeps its own", exc_info=True)
        return False
    return True


class OnnxDetector:
    """``detect(image) -> DetectionResult``; input size and class names come from the model's metadata.

    ``conf`` / ``iou`` left as None: the model's own count-first thresholds (metadata ``count_conf`` /
    ``count_iou``, picked by ``ml.threshold`` on held-out sources), else ``DEFAULT_CONF`` / ``DEFAULT_IOU``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        conf: float | None = None,
        iou: float | None = None,
        max_det: int = DEFAULT_MAX_DET,
        threads: int = 1,
        warmup: bool = True,
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model {path} does not exist")
        if (conf is not None and not 0 <= conf < 1) or (iou is not None and not 0 < iou <= 1) \
                or max_det < 1 or threads < 1:
            raise ValueError("need 0 <= conf < 1, 0 < iou <= 1, max_det >= 1, threads >= 1")
        self.path = path
        self.max_det, self.threads = max_det, threads
        self._spare_canvases: list[Canvas] = []  # model inputs not in use (see detect)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No memory pattern: each run's tensors come from the arena one by one instead of as one
        # block planned per run; with two runs at once the arena then grew by less than half as
        # much (measured: see shared_arena), at no measured cost in speed.
        options.enable_mem_pattern = False
        if shared_arena():
            options.add_session_config_entry("session.use_env_allocators", "1")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self.session.get_inputs()[0]
        self._output_name = self.session.get_outputs()[0].name

        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.conf = conf if conf is not None else _metadata_threshold(self.metadata, "count_conf", DEFAULT_CONF, 0.01, 0.95)
        self.iou = iou if iou is not None else _metadata_threshold(self.metadata, "count_iou", DEFAULT_IOU, 0.1, 0.95)
        # Where the serving thresholds came from, for /healthz, the model list and the Inspector.
        own = _metadata_threshold(self.metadata, "count_conf", -1.0, 0.01, 0.95) >= 0
        self.threshold_source = "setting" if conf is not None else ("model" if own else "default")
        self.input_size = self._read_input_size()
        names = _parse_literal(self.metadata.get("names"), {0: "package"})
        self.class_names: dict[int, str] = {int(k): str(v) for k, v in dict(names).items()}
        self.model_name = self.metadata.get("model_name", path.stem)
        self.version = self.metadata.get("version", "unknown")
        if warmup:
            self.detect(np.full((self.input_size, self.input_size, 3), 114, np.uint8))

    def _canvas_take(self) -> Canvas:
        """A kept model input (preprocess.Canvas) no other run is using: as many exist as frames
        were ever detected at once (DETECTOR_CONCURRENCY), not one per thread that ever detected
        (2 MB each at 416 px). list.pop and append are atomic, so threads need no lock."""
        try:
            return self._spare_canvases.pop()
        except IndexError:
            return Canvas(self.input_size)

    def _read_input_size(self) -> int:
        shape = self._input.shape  # [1, 3, H, W]; symbolic dims are strings
        imgsz = _parse_literal(self.metadata.get("imgsz"), None)
        if isinstance(imgsz, (list, tuple)) and len(imgsz) == 2 and imgsz[0] == imgsz[1]:
            size = int(imgsz[0])
        elif isinstance(imgsz, int):
            size = imgsz
        elif isinstance(shape[2], int) and shape[2] == shape[3]:
            size = shape[2]
        else:
            raise ValueError(f"{self.path}: no square input size in metadata ({imgsz!r}) or input shape {shape}")
        if isinstance(shape[2], int) and shape[2] != size:
            raise ValueError(f"{self.path}: metadata imgsz {size} disagrees with the input shape {shape}")
        return size

    def detect(self, image: np.ndarray | DecodedImage, *, conf: float | None = None) -> DetectionResult:
        """Boxes in original-image pixels. ``conf`` overrides the serving threshold (e.g. 0.001 for mAP)."""
        if isinstance(image, DecodedImage):
            pixels, original = image.pixels, (image.original_width, image.original_height)
        else:
            pixels, original = image, (image.shape[1], image.shape[0])
        started = time.perf_counter()
        canvas = self._canvas_take()
        try:
            tensor, scale, pad = letterbox(pixels, self.input_size, canvas=canvas)
            prepared = time.perf_counter()
            output = self.session.run([self._output_name], {self._input.name: tensor})[0]
            ran = time.perf_counter()
        finally:
            self._spare_canvases.append(canvas)  # the run is over: the next frame may write into it
        boxes, scores, class_ids = postprocess(
            output, conf=self.conf if conf is None else conf, iou=self.iou, max_det=self.max_det,
            scale=scale, pad=pad, image_size=(pixels.shape[1], pixels.shape[0]), original_size=original,
        )
        detections = [
            Detection(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(s), int(c))
            for b, s, c in zip(boxes, scores, class_ids)
        ]
        finished = time.perf_counter()
        return DetectionResult(
            detections=detections, image_width=original[0], image_height=original[1],
            inference_ms=(finished - started) * 1000, model_version=self.version,
            extra={"pre_ms": (prepared - started) * 1000, "run_ms": (ran - prepared) * 1000,
                   "post_ms": (finished - ran) * 1000},
        )


@functools.cache
def load_detector(
    path: str | Path = DEFAULT_MODEL_PATH,
    *,
    conf: float | None = None,
    iou: float | None = None,
    max_det: int = DEFAULT_MAX_DET,
    threads: int = 1,
) -> OnnxDetector:
    """The process-wide detector for these settings (loaded and warmed up on first call)."""
    return OnnxDetector(path, conf=conf, iou=iou, max_det=max_det, threads=threads)
