"""The process-wide detector, configured from settings (the detector package itself has no Django).

What is served is the active ModelVersion (detection/serving/versions.py), or the bundled file at
settings.MODEL_PATH while none is active. Each worker learns of a switch by polling the database
every MODEL_SWITCH_POLL_S seconds (start_model_watch, from asgi.py); it loads and warms the new
session in that background thread, then swaps one reference. A frame takes the reference once
(serving()), so frames in flight finish on the old session, and the old session is freed once
they are done. A version that fails to load here leaves the old one serving (reported by /healthz).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, replace

from django.conf import settings

from detection.background import PeriodicThread
from detection.detector import OnnxDetector, load_detector
from detection.detector.tiling import TilingPolicy
from detection.serving.models import ModelVersion
from detection.serving.versions import active_version, local_model_path, version_label

logger = logging.getLogger(__name__)
# A version that failed to load in this process is tried again after this long, not at every poll.
RETRY_FAILED_S = 30.0


class ModelUnavailable(RuntimeError):
    """The ONNX model is missing or cannot be loaded; the API answers 503."""


@dataclass(frozen=True)
class Serving:
    """The detector a frame runs on, and how its event records it."""

    detector: OnnxDetector
    version_id: int | None  # None: the bundled MODEL_PATH file
    sha256: str
    label: str
    version_name: str = ""  # the ModelVersion's name ("" for the bundled file)


_lock = threading.Lock()  # one switch at a time in this process
_version: Serving | None = None  # the installed version served; None: the bundled file
_synced = False  # has this process asked the database which version is active?
_failure: dict | None = None  # the last version that failed to load here (shown by /healthz)


def _bundled() -> OnnxDetector:
    """The bundled file (cached by load_detector); raises ModelUnavailable."""
    try:
        return load_detector(
            str(settings.MODEL_PATH),
            conf=settings.DETECTOR_CONFIDENCE,
            iou=settings.DETECTOR_IOU,
            max_det=settings.DETECTOR_MAX_DETECTIONS,
            threads=settings.DETECTOR_THREADS,
        )
    except Exception as exc:  # onnxruntime raises its own exception types; all mean "no model"
        logger.error("detector unavailable: %s: %s", settings.MODEL_PATH, exc)
        raise ModelUnavailable(f"The detection model could not be loaded ({settings.MODEL_PATH.name}).") from exc


def bundled_detector() -> OnnxDetector:
    """The bundled MODEL_PATH file, whether or not it is the one served now; raises ModelUnavailable."""
    return _bundled()


def bundled_label(detector: OnnxDetector) -> str:
    return f"bundled {settings.MODEL_PATH.name} ({detector.version})"[:120]


def serving() -> Serving:
    """What this process serves now; the first call loads what the database says is active."""
    if not _synced:
        sync_active_model()
    current = _version  # one read: a swap during this frame does not affect it
    if current is not None:
        return current
    detector = _bundled()
    return Serving(detector=detector, version_id=None, sha256="", label=bundled_label(detector))


def get_detector() -> OnnxDetector:
    """Loaded once per process, warmed up, shared by all threads; switched by sync_active_model()."""
    return serving().detector


def serving_failure() -> dict | None:
    return _failure


def sync_active_model() -> bool:
    """Serve the version the database marks active (None: bundled); True when this call switched.

    Loads and warms the new session before swapping, so no frame waits for it or fails; on a
    failure the old one keeps serving (retried after RETRY_FAILED_S).
    """
    global _version, _synced, _failure
    with _lock:
        try:
            wanted = ModelVersion.objects.filter(is_active=True).values_list("pk", "sha256").first()
        except Exception as exc:  # database down: keep serving what we have, ask again next time
            if not _synced:
                logger.warning("model version lookup failed (%s); serving the bundled file for now", exc)
                _synced = True
            return False
        wanted_id = wanted[0] if wanted else None
        serving_key = (_version.version_id, _version.sha256) if _version else (None, "")
        if _synced and tuple(wanted or (None, "")) == serving_key:
            return False
        if _version is not None and _version.version_id is not None and \
                not ModelVersion.objects.filter(pk=_version.version_id).exists():
            # Deleted while still served here (its successor failed to load): keep counting with it,
            # but record no link to a row that is gone (the insert would fail).
            _version = replace(_version, version_id=None, label=f"{_version.label} (deleted)"[:120])
        if _failure and _failure["version_id"] == wanted_id and time.monotonic() - _failure["at"] < RETRY_FAILED_S:
            return False
        first, previous = not _synced, _version.label if _version else "bundled"
        started = time.monotonic()
        try:
            loaded = _load(wanted_id)
        except Exception as exc:
            _failure = {"version_id": wanted_id, "error": str(exc)[:300], "at": time.monotonic()}
            logger.error("model switch to %s failed, still serving %s: %s",
                         f"#{wanted_id}" if wanted_id else "bundled", previous, exc)
            _synced = True  # serve what we have (the bundled file at first); the watch retries
            return False
        _version, _synced, _failure = loaded, True, None
        if loaded is not None:
            load_detector.cache_clear()  # the bundled session, if it was loaded: memory stays bounded
        label, took = loaded.label if loaded else "bundled", time.monotonic() - started
        if first:
            logger.info("model: serving %s (loaded and warmed in %.2f s)", label, took)
        else:
            logger.warning("model switched: %s -> %s (loaded and warmed in %.2f s)", previous, label, took)
        return True


def _load(version_id: int | None) -> Serving | None:
    """Load and warm a version (None: the bundled file, warmed through load_detector's cache)."""
    from detection.serving.versions import local_model_path, version_label
    if version_id is None:
        _bundled()
        return None
    version = ModelVersion.objects.get(pk=version_id)
    path = local_model_path(file_name=version.file.name, sha256=version.sha256)
    detector = OnnxDetector(path, conf=settings.DETECTOR_CONFIDENCE, iou=settings.DETECTOR_IOU,
                            max_det=settings.DETECTOR_MAX_DETECTIONS, threads=settings.DETECTOR_THREADS)
    return Serving(detector=detector, version_id=version.pk, sha256=version.sha256, label=version_label(version),
                   version_name=version.name)


def reset_serving() -> None:
    """Forget what this process serves (tests); the next frame asks the database again."""
    global _version, _synced, _failure
    with _lock:
        _version, _synced, _failure = None, False, None


model_watch = PeriodicThread("model-watch", sync_active_model)


def start_model_watch(interval_s: float) -> bool:
    """Poll for model switches in a background thread, once per process; 0 disables it."""
    return model_watch.start(interval_s)


def stop_model_watch() -> None:
    model_watch.stop()


def detector_ready() -> bool:
    try:
        get_detector()
    except ModelUnavailable:
        return False
    return True


@functools.cache
def tiling_policy() -> TilingPolicy:
    """DETECTOR_TILING as a policy; an unknown value is a configuration error at the first frame."""
    return TilingPolicy(mode=settings.DETECTOR_TILING)


class Overloaded(RuntimeError):
    """More frames are already waiting for the detector than this worker queues (INGEST_QUEUE_MAX)."""


class DetectorSlots:
    """DETECTOR_CONCURRENCY frames decoded and detected at once; at most ``queue_max`` more wait.

    A worker offered more frames than its cores can count (more cameras than the box was sized for,
    a burst after a network outage) used to queue them all: every answer came later and later, each
    waiting frame held its body and a request thread, and SQLite writers queued past their busy
    timeout (500s). A frame that finds ``queue_max`` others waiting is refused at once (Overloaded:
    503 with Retry-After), before it is decoded, so the frames that are taken are answered in time.
    ``queue_max`` 0 waits without limit.
    """

    def __init__(self, slots: int, queue_max: int) -> None:
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.queue_max = queue_max
        self.waiting = 0

    def acquire(self) -> None:
        if self._free.acquire(blocking=False):
            return
        with self._lock:
            if self.queue_max and self.waiting >= self.queue_max:
                raise Overloaded(f"{self.waiting} frames are already waiting for the detector on this worker")
            self.waiting += 1
        try:
            self._free.acquire()
        finally:
            with self._lock:
                self.waiting -= 1

    def release(self) -> None:
        self._free.release()


@functools.cache
def _slots() -> DetectorSlots:
    return DetectorSlots(settings.DETECTOR_CONCURRENCY, settings.INGEST_QUEUE_MAX)


def detect_slot() -> DetectorSlots:
    """Held while a frame is decoded and detected: acquire() (raises Overloaded), then release()."""
    return _slots()


def serving_health(*, detailed: bool = False) -> dict:
    """Which version this worker serves and which one the database says is active (ids: None = the
    bundled file). Out of step for a few seconds after a switch, or while a version fails to load
    here (model_error): neither is a reason for 503, since this worker still counts frames.

    /healthz answers anyone (load balancers): the load error's own text (file names, filesystem
    paths) only to staff (``detailed``); everyone else reads that it failed and where to look."""
    model = serving()
    body = {"model_serving": model.label, "model_serving_id": model.version_id}
    try:
        active = active_version()
    except Exception as exc:  # the database check above already reports it
        body["model_active"] = f"unknown: {exc.__class__.__name__}"
        return body
    body["model_active"] = version_label(active) if active else "bundled"
    body["model_active_id"] = active.pk if active else None
    body["model_in_sync"] = body["model_active_id"] == model.version_id
    if (failure := serving_failure()) is not None:
        body["model_error"] = (failure["error"] if detailed else
                               f"model version {'#%s' % failure['version_id'] if failure['version_id'] else 'bundled'} "
                               "failed to load on this worker; "
                               "the reason is in the server log")
    return body
