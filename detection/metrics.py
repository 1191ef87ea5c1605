"""The detection app's own Prometheus metrics, counted in the process as things happen: frames
answered, ingest stage times, model run times, alert deliveries, orphaned frame files swept. Recording is an in-memory (or mmap)
increment, so nothing here blocks; METRICS_ENABLED=0 turns recording off.

The page that shows them (``/metrics``, with the numbers read from the database when scraped) is
inventory_monitor/metrics.py: it reads this module, this module never reads it. With several workers on
one host each writes its values to PROMETHEUS_MULTIPROC_DIR (read by prometheus-client when it is first
imported) and the scraped worker adds them up.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)
UNAUTHENTICATED = "unauthenticated"

# Registered on a private registry, not the library's global one: the page builds its own view of
# them (per process, or summed over the multiprocess directory), so nothing is exported twice. Other
# apps (the dashboard's WebSocket gauge) register on it too.
REGISTRY = CollectorRegistry(auto_describe=True)

FRAMES = Counter(
    "inventory_frames", "Frames posted to /api/v1/frames/, by camera and HTTP answer code.",
    ["camera", "code"], registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "inventory_ingest_stage_seconds",
    "Time a stored frame spent in each ingest stage (wait for a detector slot, decode, check, detect, persist).",
    ["stage"], buckets=STAGE_BUCKETS, registry=REGISTRY,
)
INFERENCE_SECONDS = Histogram(
    "inventory_detector_inference_seconds", "Model run time per frame as the detector reports it (all tiles).",
    buckets=STAGE_BUCKETS, registry=REGISTRY,
)
ALERTS = Counter(
    "inventory_alerts", "Alert deliveries by channel (email, sns, webhook) and outcome (sent, failed).",
    ["channel", "outcome"], registry=REGISTRY,
)
FRAMES_SWEPT = Counter(
    "inventory_frames_swept", "Stored frame files deleted by the sweep because no row named them (left by a crash).",
    registry=REGISTRY,
)


def enabled() -> bool:
    from django.conf import settings

    return settings.METRICS_ENABLED


def frame_answered(*, camera: str, code: int) -> None:
    if enabled():
        FRAMES.labels(camera or UNAUTHENTICATED, str(code)).inc()


def frame_timed(*, stages: dict[str, float], inference_ms: float) -> None:
    """Stage times in milliseconds (the StageTimer's) of one stored frame."""
    if not enabled():
        return
    for stage, ms in stages.items():
        STAGE_SECONDS.labels(stage).observe(ms / 1000)
    INFERENCE_SECONDS.observe(inference_ms / 1000)


def alert_delivered(*, channel: str, ok: bool) -> None:
    if enabled():
        ALERTS.labels(channel, "sent" if ok else "failed").inc()


def frames_swept(count: int) -> None:
    if enabled() and count:
        FRAMES_SWEPT.inc(count)


PULLS = Counter(
    "inventory_pulls", "Frames pulled from cameras (manage.py pull_cameras), by outcome: ok or why not "
    "(timeout, refused, auth, not_image, too_large, address, redirect, stream, ...).",
    ["outcome"], registry=REGISTRY,
)
PULL_SECONDS = Histogram(
    "inventory_pull_seconds", "Time one pull took: fetch, and for a frame the whole ingest.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20), registry=REGISTRY,
)
PULL_LAG_SECONDS = Histogram(
    "inventory_pull_lag_seconds", "How late a pull started after its scheduled time (a puller falling behind).",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=REGISTRY,
)


def pull_done(*, code: str, seconds: float) -> None:
    if enabled():
        PULLS.labels(code).inc()
        PULL_SECONDS.observe(seconds)


def pull_lag(*, seconds: float) -> None:
    if enabled():
        PULL_LAG_SECONDS.observe(seconds)
