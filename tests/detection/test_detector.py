"""The detector package on its own: no Django, hand-computed geometry, hostile uploads, the shipped model."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detection.detector import (
    DEFAULT_MODEL_PATH,
    DecodedImage,
    ImageTooLarge,
    OnnxDetector,
    UndecodableImage,
    decode_image,
    load_detector,
)
from detection.detector.postprocess import nms, postprocess, rescale_boxes
from detection.detector.preprocess import PAD_VALUE, Canvas, letterbox, letterbox_geometry
from tests.conftest import REPO, png_declaring

REPO = Path(__file__).resolve().parents[2]


def dataset_dir() -> Path:
    return Path(os.environ.get("PACKAGES_DATASET", REPO.parent / "shared" / "datasets" / "packages"))


def jpeg_bytes(width: int, height: int, color=(200, 120, 40), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=90, exif=exif or Image.Exif())
    return out.getvalue()


# --- letterbox and box geometry ------------------------------------------------------------


def test_letterbox_fits_long_side_and_centres_padding():
    image = np.zeros((480, 640, 3), np.uint8)  # landscape: 640 -> 320, 480 -> 240, 40 px bands
    tensor, scale, pad = letterbox(image, 320)
    assert tensor.shape == (1, 3, 320, 320) and tensor.dtype == np.float32
    assert scale == 0.5 and pad == (0, 40)
    assert np.allclose(tensor[0, :, :40, :], PAD_VALUE / 255) and np.allclose(tensor[0, :, 280:, :], PAD_VALUE / 255)
    assert np.allclose(tensor[0, :, 40:280, :], 0)


def _reference_letterbox(image: np.ndarray, size: int) -> np.ndarray:
    """The straightforward letterbox (a fresh uint8 canvas, pasted, converted): what Canvas must equal."""
    import cv2

    scale, (new_w, new_h), (pad_x, pad_y) = letterbox_geometry(image.shape[1], image.shape[0], size)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    return canvas.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(1 / 255)


def test_a_kept_canvas_gives_the_same_tensor_as_a_fresh_letterbox_whatever_came_before():
    rng = np.random.default_rng(3)
    canvas = Canvas(320)
    # Landscape, then portrait (the old image's pixels lie where the new padding goes), then a
    # smaller landscape: each must come out exactly as a fresh letterbox would make it.
    for shape in [(480, 640, 3), (640, 480, 3), (90, 200, 3), (90, 200, 3)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        tensor, _, _ = letterbox(image, 320, canvas=canvas)
        assert tensor is canvas.tensor
        assert np.array_equal(tensor, _reference_letterbox(image, 320))
    fresh, _, _ = letterbox(image, 320)
    assert fresh is not canvas.tensor and np.array_equal(fresh, canvas.tensor)


def test_the_detector_keeps_as_many_canvases_as_frames_ran_at_once_not_one_per_thread(shipped):
    import threading

    frame = np.full((270, 480, 3), 90, np.uint8)
    shipped._spare_canvases.clear()
    for _ in range(5):  # five threads, one after the other: one canvas serves them all
        thread = threading.Thread(target=shipped.detect, args=(frame,))
        thread.start()
        thread.join()
    assert len(shipped._spare_canvases) == 1
    barrier = threading.Barrier(3)
    taken = []

    def overlapping():
        canvas = shipped._canvas_take()  # three runs at once each need their own
        taken.append(canvas)
        barrier.wait()
        shipped._spare_canvases.append(canvas)

    threads = [threading.Thread(target=overlapping) for _ in range(3)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert len({id(canvas) for canvas in taken}) == 3 and len(shipped._spare_canvases) == 3
    assert shipped.detect(frame).image_width == 480  # and detection goes on with the kept ones


def test_letterbox_rounds_odd_padding_like_ultralytics():
    # 100x33 into 64: scale 0.64, 64x21 (round 21.12), 43 px to pad -> 21 top, 22 bottom.
    scale, (new_w, new_h), (pad_x, pad_y) = letterbox_geometry(100, 33, 64)
    assert (scale, new_w, new_h, pad_x, pad_y) == (0.64, 64, 21, 0, 21)


def test_rescale_maps_model_pixels_back_to_original_and_clips():
    boxes = np.array([[10.0, 50.0, 110.0, 90.0], [-5.0, 30.0, 400.0, 300.0]])
    out = rescale_boxes(boxes, scale=0.5, pad=(0, 40), image_size=(640, 480))
    assert np.allclose(out[0], [20, 20, 220, 100])
    assert np.allclose(out[1], [0, 0, 640, 480])  # clipped to the image
    # Decoded at half size (reduced JPEG decode): boxes scale up to the camera's pixels.
    doubled = rescale_boxes(boxes[:1], scale=0.5, pad=(0, 40), image_size=(640, 480), original_size=(1280, 960))
    assert np.allclose(doubled[0], [40, 40, 440, 200])


# --- NMS and decoding the raw output ---------------------------------------------------------


def test_nms_suppresses_overlap_above_threshold_only():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 5]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # IoU(0,1) = 81/119 = 0.68 -> suppressed; IoU(0,3) = 50/100 = 0.5 -> suppressed at 0.45, kept at 0.55.
    assert nms(boxes, scores, 0.45, 300).tolist() == [0, 2]
    assert nms(boxes, scores, 0.55, 300).tolist() == [0, 2, 3]
    assert nms(boxes, scores, 0.45, 1).tolist() == [0]  # max_det cap


def test_postprocess_is_class_aware_and_applies_conf():
    # (1, 4+2, N): cx, cy, w, h, score class 0, score class 1
    raw = np.array([[
        [5, 6, 25, 5.5],  # cx
        [5, 6, 25, 5.5],  # cy
        [10, 10, 10, 10],  # w
        [10, 10, 10, 10],  # h
        [0.9, 0.1, 0.2, 0.05],  # class 0
        [0.0, 0.8, 0.0, 0.1],  # class 1
    ]], np.float32)
    boxes, scores, classes = postprocess(raw, conf=0.15, iou=0.45, max_det=300, scale=1.0, pad=(0, 0),
                                         image_size=(100, 100))
    # Box 1 overlaps box 0 heavily but is another class, so it survives; box 3 is under conf.
    assert classes.tolist() == [0, 1, 0]
    assert np.allclose(scores, [0.9, 0.8, 0.2])
    assert np.allclose(boxes[0], [0, 0, 10, 10])


def test_postprocess_single_class_shortcut_agrees_with_the_general_path():
    # One class takes a shortcut (no argmax/gather over all candidates); a second, never-winning
    # class row sends the same output through the general path: same boxes, scores and classes.
    rng = np.random.default_rng(7)
    n = 3549
    xy = rng.uniform(0, 416, (2, n))
    wh = rng.uniform(4, 60, (2, n))
    single = np.concatenate([xy, wh, rng.uniform(0, 1, (1, n))]).astype(np.float32)[None]
    general = np.concatenate([single[0], np.zeros((1, n), np.float32)])[None]
    kwargs = dict(conf=0.35, iou=0.5, max_det=300, scale=416 / 1920, pad=(0, 91), image_size=(1920, 1080))
    for got, want in zip(postprocess(single, **kwargs), postprocess(general, **kwargs)):
        assert len(got) > 10 and np.array_equal(got, want)


# --- decoding uploads ---------------------------------------------------------------------


def test_decode_rejects_bytes_that_are_not_an_image():
    with pytest.raises(UndecodableImage):
        decode_image(b"definitely not a jpeg", target_size=320)


def test_decode_rejects_truncated_jpeg():
    data = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8)).save(data, "JPEG")
    with pytest.raises(UndecodableImage):
        decode_image(data.getvalue()[: len(data.getvalue()) // 2], target_size=320)


def test_decode_rejects_unsupported_format():
    data = io.BytesIO()
    Image.new("RGB", (8, 8)).save(data, "GIF")
    with pytest.raises(UndecodableImage, match="JPEG, PNG or WebP"):
        decode_image(data.getvalue())


def test_decompression_bomb_header_is_rejected_before_decoding():
    # 30000 x 30000 = 900 Mpx declared by a ~70-byte file: must fail from the header alone.
    with pytest.raises(ImageTooLarge):
        decode_image(png_declaring(30000, 30000), target_size=320)
    # Between Pillow's warning and error limits: the warning is turned into an error citing the caller's limit...
    with pytest.raises(ImageTooLarge, match="64,000,000 pixels; the limit is 25,000,000"):
        decode_image(png_declaring(8000, 8000), max_pixels=25_000_000)
    # ...unless the caller allows that many pixels: then its limit holds (this header has no pixel data).
    with pytest.raises(UndecodableImage):
        decode_image(png_declaring(8000, 8000), max_pixels=80_000_000)
    # Under Pillow's limits but over the caller's.
    with pytest.raises(ImageTooLarge, match="limit"):
        decode_image(png_declaring(6000, 5000), max_pixels=25_000_000)


def test_decode_honours_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": a 40x20 sensor image is shown 20x40
    decoded = decode_image(jpeg_bytes(40, 20, exif=exif))
    assert decoded.pixels.shape == (40, 20, 3)
    assert (decoded.original_width, decoded.original_height) == (20, 40)


def test_draft_decodes_large_jpeg_smaller_but_reports_original_size():
    decoded = decode_image(jpeg_bytes(1920, 1080), target_size=416)
    # libjpeg scales by 1/2, 1/4 or 1/8: 1/4 (480 px) is the smallest that keeps the model's 416.
    assert decoded.pixels.shape == (270, 480, 3)
    assert (decoded.original_width, decoded.original_height) == (1920, 1080)
    assert decode_image(jpeg_bytes(2000, 1000), target_size=128).pixels.shape == (125, 250, 3)  # 1/8 at most
    full = decode_image(jpeg_bytes(2000, 1000), target_size=None)
    assert full.pixels.shape == (1000, 2000, 3)


# --- the shipped model ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> OnnxDetector:
    assert DEFAULT_MODEL_PATH.is_file(), "detection/weights/package_detector.int8.onnx must be committed"
    return load_detector(DEFAULT_MODEL_PATH)


def test_sessions_share_one_arena_that_grows_by_what_is_asked(shipped):
    from detection.detector.onnx import shared_arena

    assert shared_arena()  # registered with this ONNX Runtime (a missing API would log and keep per-session arenas)
    options = shipped.session.get_session_options()
    assert options.get_session_config_entry("session.use_env_allocators") == "1"


def val_images(limit: int = 4) -> list[tuple[Path, int]]:
    root = dataset_dir()
    if not (root / "images" / "val").is_dir():
        pytest.skip(f"dataset not found at {root}; set PACKAGES_DATASET")
    picked = []
    for image in sorted((root / "images" / "val").glob("*.jpg")):
        label = root / "labels" / "val" / f"{image.stem}.txt"
        n = sum(1 for line in label.read_text().splitlines() if line.strip())
        if 3 <= n <= 30 and "IMG_026" not in image.name:  # skip shelf-video frames with partial labels
            picked.append((image, n))
        if len(picked) == limit:
            break
    return picked


def test_shipped_model_reads_input_size_and_names_from_metadata(shipped):
    assert shipped.input_size == int(shipped.metadata["imgsz"].strip("[]").split(",")[0])
    assert shipped.class_names == {0: "package"}
    assert shipped.metadata["precision"] == "int8"
    assert shipped.metadata["data_fingerprint"] and shipped.version != "unknown"
    assert load_detector(DEFAULT_MODEL_PATH) is shipped  # one session per process


def test_shipped_model_counts_packages_on_real_images(shipped):
    for path, labelled in val_images():
        decoded = decode_image(path.read_bytes(), target_size=shipped.input_size)
        result = shipped.detect(decoded)
        assert abs(result.count - labelled) <= max(2, round(0.25 * labelled)), (path.name, result.count, labelled)
        assert result.image_width == decoded.original_width and result.inference_ms > 0
        for d in result.detections:
            assert 0 <= d.x1 < d.x2 <= result.image_width and 0 <= d.y1 < d.y2 <= result.image_height
            assert d.score >= shipped.conf and d.class_id == 0


def test_boxes_are_reported_in_original_pixels_after_reduced_decode(shipped):
    path, _ = val_images(1)[0]
    with Image.open(path) as image:
        small = image.convert("RGB")
    big = io.BytesIO()
    small.resize((small.width * 4, small.height * 4), Image.BICUBIC).save(big, "JPEG", quality=92)
    direct = shipped.detect(np.asarray(small))
    drafted = decode_image(big.getvalue(), target_size=shipped.input_size)
    assert drafted.pixels.shape[1] < small.width * 4  # it really was decoded at reduced size
    scaled = shipped.detect(drafted)
    assert (scaled.image_width, scaled.image_height) == (small.width * 4, small.height * 4)
    assert abs(scaled.count - direct.count) <= 1
    big_x2 = max(d.x2 for d in scaled.detections)
    assert big_x2 == pytest.approx(4 * max(d.x2 for d in direct.detections), rel=0.05)


def test_conf_override_returns_more_low_score_boxes(shipped):
    path, _ = val_images(1)[0]
    image = decode_image(path.read_bytes(), target_size=shipped.input_size)
    assert shipped.detect(image, conf=0.01).count >= shipped.detect(image).count


def test_one_session_is_safe_to_share_between_threads(shipped):
    images = [decode_image(p.read_bytes(), target_size=shipped.input_size) for p, _ in val_images(3)]
    expected = [shipped.detect(img).count for img in images]
    results: list[list[int]] = []

    def work() -> None:
        results.append([shipped.detect(img).count for img in images])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_detect_accepts_plain_arrays_and_decoded_images_alike(shipped):
    pixels = np.full((100, 200, 3), 114, np.uint8)
    a = shipped.detect(pixels)
    b = shipped.detect(DecodedImage(pixels, 200, 100))
    assert (a.image_width, a.image_height) == (b.image_width, b.image_height) == (200, 100)


def test_every_shipped_model_loads_with_its_metadata_and_counts_the_samples():
    # MODEL_PATH may point at either file in detection/weights (the README says when to pick which).
    import json
    from pathlib import Path

    from detection.detector import decode_image, load_detector
    from simulation.make_samples import SAMPLES_DIR

    weights = sorted((Path(__file__).resolve().parents[2] / "detection" / "weights").glob("*.int8.onnx"))
    assert {p.name for p in weights} >= {"package_detector.int8.onnx", "package_detector_base.int8.onnx"}
    truth = json.loads((SAMPLES_DIR / "counts.json").read_text())
    for path in weights:
        detector = load_detector(path)
        assert detector.input_size == 416 and detector.class_names == {0: "package"}
        assert "7-bit range" in detector.metadata["quantization"]
        errors = [abs(detector.detect(decode_image((SAMPLES_DIR / name).read_bytes(), target_size=416)).count
                      - row["count"]) for name, row in truth.items()]
        assert sum(errors) / len(errors) <= 2.5, (path.name, errors)  # both count our samples within 2.5


def _with_metadata(tmp_path, extra: dict[str, str]):
    import onnx

    from detection.detector import DEFAULT_MODEL_PATH

    model = onnx.load(str(DEFAULT_MODEL_PATH))
    for key, value in extra.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path = tmp_path / "thresholds.onnx"
    onnx.save(model, str(path))
    return path


def test_a_model_serves_with_its_own_count_first_thresholds(tmp_path):
    # ml.threshold picks conf/IoU by counting error on held-out sources and stores them in the model;
    # the product must count with them, not with a global constant.
    path = _with_metadata(tmp_path, {"count_conf": "0.425", "count_iou": "0.6"})
    detector = OnnxDetector(path, warmup=False)
    assert (detector.conf, detector.iou, detector.threshold_source) == (0.425, 0.6, "model")
    image = decode_image((REPO / "simulation" / "samples" / "warehouse_05.jpg").read_bytes(), target_size=detector.input_size)
    assert all(d.score >= 0.425 for d in detector.detect(image).detections)


def test_a_setting_overrides_the_models_thresholds_and_nonsense_metadata_is_ignored(tmp_path):
    path = _with_metadata(tmp_path, {"count_conf": "0.425", "count_iou": "0.6"})
    overridden = OnnxDetector(path, conf=0.2, iou=0.5, warmup=False)
    assert (overridden.conf, overridden.iou, overridden.threshold_source) == (0.2, 0.5, "setting")
    broken = OnnxDetector(_with_metadata(tmp_path, {"count_conf": "lots", "count_iou": "7"}), warmup=False)
    assert (broken.conf, broken.iou, broken.threshold_source) == (0.30, 0.45, "default")


@pytest.mark.parametrize("first_import", ["detection.detector", "ml"])
def test_onnx_runtime_keeps_no_telemetry(tmp_path, first_import):
    """ONNX Runtime 1.32 on Linux keeps a usage database in ~/.cache/Microsoft/DeveloperTools and
    resolves Microsoft's collector to upload it, unless ORT_DISABLE_TELEMETRY is set before it is
    first imported. The product (through the detector package) and the ml tools set it themselves:
    a server or a training run, started without it, leaves no such database."""
    env = {key: value for key, value in os.environ.items() if key != "ORT_DISABLE_TELEMETRY"}
    env["HOME"] = str(tmp_path)
    script = (f"import {first_import}, onnxruntime, numpy\n"
              "from detection.detector import load_detector\n"
              "load_detector().detect(numpy.full((64, 64, 3), 114, numpy.uint8))\n"
              "import os; print(os.environ.get('ORT_DISABLE_TELEMETRY'))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / ".cache" / "Microsoft").exists(), sorted(p.name for p in tmp_path.rglob("*"))
    assert result.stdout.split() == ["1"]
