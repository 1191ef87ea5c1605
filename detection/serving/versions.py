"""Model versions: install a detector file (validated first), activate one, roll back.

`manage.py model install|list|activate|rollback` and the ModelVersion admin both go through here.
Installing never changes what is served; activating flips `ModelVersion.is_active` in one
transaction, and every worker notices within MODEL_SWITCH_POLL_S seconds (detection/serving/runtime.py
loads and warms the new session off the request path, then swaps it in).

"bundled" names the file at settings.MODEL_PATH (shipped in the repo): what is served while no
version is active. Rollback activates the version that was active before the current one (the
most recently activated other version); from a version with no other ever activated, it goes back
to the bundled file.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from detection.detector.files import file_sha256
from detection.serving.models import ModelVersion
from detection.serving.onnx_external import NotOnnx, external_files

BUNDLED = "bundled"
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "simulation" / "samples"
# The sample frames a candidate must count (simulation/samples, committed with their counts).
SMOKE_FRAMES = ("warehouse_02.jpg", "warehouse_03.jpg", "warehouse_05.jpg")


class ModelRejected(ValueError):
    """A file that cannot become a model version; ``str(exc)`` is one line for people."""


@dataclass
class ModelFacts:
    """What validation learned about a candidate file."""

    sha256: str
    size_bytes: int
    input_size: int
    classes: dict[str, str]
    metadata: dict[str, str]
    version: str
    evaluation: dict[str, Any] = field(default_factory=dict)
    # (location, file) of the tensors stored beside the .onnx: installed with it (detection/serving/onnx_external.py).
    external: list[tuple[str, Path]] = field(default_factory=list)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")


# ONNX metadata is read with ast.literal_eval ("names"): a value this long is refused before parsing
# (a 200 kB one exhausts the parser: MemoryError), and stored metadata stays small.
MAX_METADATA_CHARS = 64 * 1024


def _size_check(path: Path) -> int:
    """The file's size, once it is known to be within MODEL_MAX_BYTES: checked before anything reads
    the file (hashing a 4 GiB file only to refuse it takes seconds)."""
    if not path.is_file():
        raise ModelRejected(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise ModelRejected(f"{path.name}: the file is empty")
    if size > settings.MODEL_MAX_BYTES:
        raise ModelRejected(f"{path.name}: {size:,} bytes; the limit is {settings.MODEL_MAX_BYTES:,} (MODEL_MAX_BYTES)")
    return size


def model_inspect(path: Path) -> ModelFacts:
    """Validate a candidate ONNX file the way serving will use it; raises ModelRejected.

    It must load in ONNX Runtime, take one float NCHW square RGB input, name its classes in its
    metadata, give YOLOv8's raw output (1, 4 + classes, anchors), and count packages on the sample
    frames with sane boxes (finite, inside the image, scores in 0..1).
    """
    import numpy as np
    import onnxruntime as ort

    from detection.detector import OnnxDetector, decode_image
    from detection.detector.onnx import _parse_literal

    path = Path(path)
    size = _size_check(path)
    try:
        external = external_files(path)
    except NotOnnx:
        external = []  # not a protobuf at all: ONNX Runtime refuses it below, with its reason
    except ValueError as exc:
        raise ModelRejected(f"{path.name}: {exc}") from None
    size += sum(file.stat().st_size for _, file in external)
    if size > settings.MODEL_MAX_BYTES:
        raise ModelRejected(f"{path.name}: {size:,} bytes with its external data; the limit is "
                            f"{settings.MODEL_MAX_BYTES:,} (MODEL_MAX_BYTES)")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types: not ONNX, truncated, unsupported ops
        raise ModelRejected(f"{path.name}: not a loadable ONNX model ({_one_line(exc)})") from None

    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelRejected(f"{path.name}: expected one input (an image), found {len(inputs)}")
    shape = list(inputs[0].shape)
    batch_ok = len(shape) == 4 and (shape[0] == 1 or not isinstance(shape[0], int))  # fixed 1 or symbolic
    if inputs[0].type != "tensor(float)" or not batch_ok or shape[1] != 3:
        raise ModelRejected(f"{path.name}: input {inputs[0].name} is {inputs[0].type} {shape}; "
                            "expected a float image tensor [1, 3, size, size]")
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    too_long = [key for key, value in metadata.items() if len(key) + len(value) > MAX_METADATA_CHARS]
    if too_long or sum(len(k) + len(v) for k, v in metadata.items()) > MAX_METADATA_CHARS:
        raise ModelRejected(f"{path.name}: the metadata ({', '.join(repr(k[:40]) for k in too_long) or 'all of it'}) "
                            f"is longer than {MAX_METADATA_CHARS:,} characters; ml.export writes a few hundred")
    names = _parse_literal(metadata.get("names"), None)
    if not isinstance(names, dict) or not names:
        raise ModelRejected(f"{path.name}: no class names in the metadata ('names', as written by ml.export)")
    try:
        classes = {str(int(k)): str(v) for k, v in names.items()}
    except (TypeError, ValueError):
        raise ModelRejected(f"{path.name}: class names {names!r} are not {{id: name}}") from None
    try:
        detector = OnnxDetector(path, conf=settings.DETECTOR_CONFIDENCE, iou=settings.DETECTOR_IOU,
                                max_det=settings.DETECTOR_MAX_DETECTIONS, threads=1, warmup=False)
    except ValueError as exc:  # input size: metadata and shape disagree, or not square
        raise ModelRejected(f"{path.name}: {_one_line(exc).removeprefix(str(path) + ': ')}") from None
    except Exception as exc:
        raise ModelRejected(f"{path.name}: cannot be served ({_one_line(exc)})") from None
    size_px = detector.input_size

    # A test inference: the raw output must be what postprocess reads.
    try:
        raw = session.run(None, {inputs[0].name: np.full((1, 3, size_px, size_px), 0.5, np.float32)})
    except Exception as exc:
        raise ModelRejected(f"{path.name}: the test inference failed ({_one_line(exc)})") from None
    expected_channels = 4 + len(classes)
    anchors = _expected_anchors(size_px, metadata)
    got = tuple(raw[0].shape)
    wrong_anchors = anchors is not None and len(got) == 3 and got[2] != anchors
    if len(outputs) != 1 or len(got) != 3 or got[0] != 1 or got[1] != expected_channels or wrong_anchors:
        want = f"(1, {expected_channels}, {anchors or 'N'})"
        raise ModelRejected(f"{path.name}: output shape {got} ({len(outputs)} output(s)); expected one {want} "
                            f"for {len(classes)} class(es) at {size_px} px")
    if not np.isfinite(raw[0]).all():
        raise ModelRejected(f"{path.name}: the test inference returned NaN or infinite values")

    evaluation = _smoke_count(path.name, detector, decode_image, classes)
    return ModelFacts(sha256=file_sha256(path), size_bytes=size, input_size=size_px, classes=classes,
                      metadata=metadata, version=metadata.get("version", ""), evaluation=evaluation,
                      external=external)


def _expected_anchors(size: int, metadata: dict[str, str]) -> int | None:
    """YOLOv8 predicts on strides 8, 16 and 32 (metadata 'stride' is the largest); None when unknown."""
    try:
        top = int(metadata.get("stride", ""))
    except ValueError:
        return None
    strides = [s for s in (8, 16, 32, 64) if s <= top]
    if not strides or any(size % s for s in strides):
        return None
    return sum((size // s) ** 2 for s in strides)


def _smoke_count(name: str, detector, decode_image, classes: dict[str, str]) -> dict[str, Any]:
    """Count the sample frames: sane boxes, and not blind (a model that finds nothing is broken)."""
    labelled = json.loads((SAMPLES_DIR / "counts.json").read_text())
    rows, found = [], 0
    for frame in SMOKE_FRAMES:
        image = decode_image((SAMPLES_DIR / frame).read_bytes(), target_size=detector.input_size)
        result = detector.detect(image)
        for box in result.detections:
            coords = (box.x1, box.y1, box.x2, box.y2, box.score)
            if (not all(math.isfinite(v) for v in coords) or not 0 <= box.score <= 1
                    or not -1 <= box.x1 <= box.x2 <= result.image_width + 1
                    or not -1 <= box.y1 <= box.y2 <= result.image_height + 1
                    or str(box.class_id) not in classes):
                raise ModelRejected(f"{name}: the test inference on {frame} gave an impossible box {coords}")
        found += result.count
        rows.append({"frame": frame, "labelled": labelled[frame]["count"], "counted": result.count})
    if found == 0:
        raise ModelRejected(f"{name}: found no package on the sample frames ({', '.join(SMOKE_FRAMES)}); "
                            "untrained or wrong model?")
    error = sum(abs(r["counted"] - r["labelled"]) for r in rows) / len(rows)
    return {"sample_frames": rows, "sample_count_mae": round(error, 2)}


def model_check(path: Path) -> ModelFacts:
    """model_inspect, plus: the same file must not be installed already. Raises ModelRejected."""
    path = Path(path)
    _size_check(path)  # before hashing: a huge file is refused at once
    sha = file_sha256(path)
    if sha and (existing := ModelVersion.objects.filter(sha256=sha).first()) is not None:
        raise ModelRejected(f"{path.name}: already installed as #{existing.pk} {existing.name!r} (sha256 {sha[:12]})")
    return model_inspect(path)


def model_install(*, path: Path, name: str = "", evaluation: dict | None = None, user=None,
                  into: ModelVersion | None = None, facts: ModelFacts | None = None) -> ModelVersion:
    """Validate ``path``, copy it into storage (MEDIA_ROOT or S3) and record it; it is NOT activated.

    Raises ModelRejected (bad file, or the same file already installed). ``into``: an unsaved
    instance to fill, and ``facts``: model_check's answer for this file (the admin's add form).
    """
    path = Path(path)
    facts = facts or model_check(path)
    version = into or ModelVersion()
    version.name = (name or version.name or path.stem).strip()[:120]
    version.sha256, version.size_bytes, version.input_size = facts.sha256, facts.size_bytes, facts.input_size
    version.classes, version.metadata = facts.classes, facts.metadata
    version.evaluation = {**facts.evaluation, **(evaluation or {})}
    version.installed_by = user if getattr(user, "pk", None) else None
    version.installed_at = timezone.now()
    stored: list[str] = []
    try:
        if facts.external:
            # ONNX Runtime finds external data by its location beside the model: a folder per version.
            folder = f"models/{facts.sha256[:16]}"
            stored.append(_store_as(path, f"{folder}/{path.name}"))
            for location, file in facts.external:
                stored.append(_store_as(file, f"{folder}/{location}"))
        else:
            with path.open("rb") as fh:
                stored.append(default_storage.save(f"models/{facts.sha256[:16]}-{path.name}", File(fh)))
        version.file.name = stored[0]
        with transaction.atomic():
            version.save()
    except Exception as exc:
        for name in stored:
            default_storage.delete(name)  # no orphan file for a row that was not written
        if isinstance(exc, IntegrityError):  # installed by someone else a moment ago
            raise ModelRejected(f"{path.name}: already installed (sha256 {facts.sha256[:12]})") from None
        raise
    return version


def _store_as(source: Path, name: str) -> str:
    """Save under exactly ``name`` (a storage that would rename it would break the model's references)."""
    with source.open("rb") as fh:
        saved = default_storage.save(name, File(fh))
    if saved != name:
        default_storage.delete(saved)
        raise ModelRejected(f"storage already holds {name}; remove it (a leftover of a deleted version?)")
    return saved


def _stored_files(file_name: str) -> list[str]:
    """The version's stored files: its .onnx, and the external data in its own folder, if it has one."""
    folder = PurePosixPath(file_name).parent
    if folder == PurePosixPath("models"):
        return [file_name]
    names, pending = [], [str(folder)]
    while pending:
        current = pending.pop()
        dirs, files = default_storage.listdir(current)
        names += [f"{current}/{f}" for f in files]
        pending += [f"{current}/{d}" for d in dirs]
    return names


def version_label(version: ModelVersion) -> str:
    """How people see a version: on events, /healthz and the dashboard."""
    tag = version.metadata.get("version") or version.sha256[:12]
    return f"#{version.pk} {version.name} ({tag})"[:120]


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def model_find(ref: str) -> ModelVersion | None:
    """A version by id or by a sha256 prefix (at least 6 characters); None for "bundled"."""
    ref = ref.strip().lstrip("#")
    if ref.lower() == BUNDLED:
        return None
    if ref.isdigit():
        found = ModelVersion.objects.filter(pk=int(ref)).first()
    else:
        matches = list(ModelVersion.objects.filter(sha256__startswith=ref.lower())[:2]) if len(ref) >= 6 else []
        if len(matches) > 1:
            raise ModelRejected(f"{ref!r} matches several versions; give more of the sha256 or the id")
        found = matches[0] if matches else None
    if found is None:
        raise ModelRejected(f"no model version {ref!r} (see `manage.py model list`)")
    return found


def model_activate(*, version: ModelVersion | None, user=None) -> ModelVersion | None:
    """Serve ``version`` from now on (None: the bundled file). Workers switch within MODEL_SWITCH_POLL_S."""
    now = timezone.now()
    with transaction.atomic():
        # Lock the active row (if any) so two concurrent switches are ordered, not interleaved.
        list(ModelVersion.objects.select_for_update().filter(is_active=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=getattr(version, "pk", None)).update(is_active=False)
        if version is not None:
            ModelVersion.objects.filter(pk=version.pk).update(
                is_active=True, activated_at=now, activated_by=user if getattr(user, "pk", None) else None)
            version.refresh_from_db()
    return version


def rollback_target() -> ModelVersion | None:
    """The version that was active before the current one; None: the bundled file."""
    current = active_version()
    others = ModelVersion.objects.filter(activated_at__isnull=False).order_by("-activated_at")
    if current is not None:
        others = others.exclude(pk=current.pk)
    return others.first()


def model_rollback(*, user=None) -> ModelVersion | None:
    """Activate rollback_target(); returns what is now active (None: the bundled file)."""
    if active_version() is None and rollback_target() is None:
        raise ModelRejected("nothing to roll back to: the bundled model is served and no version was ever active")
    return model_activate(version=rollback_target(), user=user)


def model_delete(*, version: ModelVersion) -> None:
    """Remove a version and its stored file; the active one cannot be removed (activate another first)."""
    if ModelVersion.objects.filter(pk=version.pk, is_active=True).exists():
        raise ModelRejected(f"#{version.pk} {version.name!r} is active; activate another version (or bundled) first")
    name = version.file.name
    version.delete()
    if name and not ModelVersion.objects.filter(file=name).exists():
        transaction.on_commit(lambda: [default_storage.delete(n) for n in _stored_files(name)])


def local_model_path(*, file_name: str, sha256: str) -> Path:
    """A local file with this content, for ONNX Runtime: the storage's own file when it is on disk,
    else a copy cached by sha256 under MODEL_CACHE_DIR (downloaded once per host). The content is
    checked against sha256 either way; raises ModelRejected when it does not match."""
    try:
        local = Path(default_storage.path(file_name))
    except NotImplementedError:  # remote storage (S3): no local path
        local = None
    if local is not None:
        if not local.is_file():
            raise ModelRejected(f"{file_name}: missing from storage ({local})")
        if file_sha256(local) != sha256:
            raise ModelRejected(f"{file_name}: content does not match its sha256 {sha256[:12]}")
        return local
    cache_dir = Path(settings.MODEL_CACHE_DIR)
    folder = PurePosixPath(file_name).parent
    if folder != PurePosixPath("models"):  # a version with external data: its files beside it, per version
        cache_dir = cache_dir / sha256
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"{sha256}.onnx"
    if cached.is_file() and file_sha256(cached) == sha256:
        return cached
    if folder != PurePosixPath("models"):
        for name in _stored_files(file_name):
            if name != file_name:
                _download(name, cache_dir / PurePosixPath(name).relative_to(folder))
    _download(file_name, cached, sha256=sha256)  # last: a whole model file means its data is there too
    return cached


def _download(name: str, target: Path, *, sha256: str = "") -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, default_storage.open(name, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
        if sha256 and file_sha256(Path(tmp)) != sha256:
            raise ModelRejected(f"{name}: downloaded content does not match its sha256 {sha256[:12]}")
        os.replace(tmp, target)  # atomic: other workers on this host see a whole file or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
