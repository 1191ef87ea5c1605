"""The `/metrics` page: what a worker counts while it serves, and what the database says when scraped.

Two kinds of numbers:
- counted in the process as things happen (frames answered, stage times, alerts, frames swept: detection/metrics.py;
  WebSocket clients: dashboard/metrics.py): prometheus-client metrics on one registry. With several Daphne workers on one host, each worker writes its values
  to files in PROMETHEUS_MULTIPROC_DIR (an environment variable prometheus-client reads when it is
  first imported) and whichever worker is scraped adds them all up; with one worker per container
  (ECS) each container is scraped on its own and the directory is not needed.
- read from the database when scraped (camera status and last-seen age): the database is what every
  worker agrees on, so any worker answers the same.

Nothing here blocks: recording is an in-memory (or mmap) increment. METRICS_ENABLED=0 turns both the
recording and the page off.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import secrets
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from dashboard import metrics as dashboard_metrics  # noqa: F401 - registers the WebSocket gauge
from detection.metrics import REGISTRY, enabled

logger = logging.getLogger(__name__)

STATUSES = ("WAITING", "CRITICAL", "WARNING", "FULL", "OFFLINE", "FAULT")


def process_exiting() -> None:
    """A worker leaving: drop its live gauges from the shared directory (no-op with one process)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        try:
            multiprocess.mark_process_dead(os.getpid())
        except Exception:  # a missing file must not stop the shutdown
            logger.debug("mark_process_dead failed", exc_info=True)


class DatabaseCollector:
    """Camera status and last-seen age, and the served model, read when Prometheus scrapes."""

    def collect(self) -> Iterator:
        from django.utils import timezone

        from detection.stock.selectors import camera_cards

        now = timezone.now()
        status = GaugeMetricFamily("inventory_camera_status", "1 for the status each active camera shows now.",
                                   labels=["camera", "status"])
        age = GaugeMetricFamily("inventory_camera_last_seen_age_seconds",
                                "Seconds since the camera's last frame or heartbeat (absent if never seen).",
                                labels=["camera"])
        for card in camera_cards(now=now):
            for name in STATUSES:
                status.add_metric([card.slug, name], 1.0 if card.status == name else 0.0)
            if card.camera.last_seen_at is not None:
                age.add_metric([card.slug], (now - card.camera.last_seen_at).total_seconds())
        yield status
        yield age
        yield from _outbox()
        yield from _model_info()


def _outbox() -> Iterable:
    """Alert rows by state, and how long the oldest unsent one has waited (a stuck channel shows here)."""
    from django.db.models import Count, Min
    from django.utils import timezone

    from detection.alerts.models import AlertDelivery

    State = AlertDelivery.State
    counts = dict(AlertDelivery.objects.order_by().values_list("state").annotate(n=Count("id")))
    rows = GaugeMetricFamily("inventory_alert_outbox_rows", "Alert deliveries in the outbox, by state.",
                             labels=["state"])
    for state in State.values:
        rows.add_metric([state], float(counts.get(state, 0)))
    oldest = AlertDelivery.objects.filter(state__in=[State.PENDING, State.SENDING]).aggregate(
        at=Min("created_at"))["at"]
    age = GaugeMetricFamily("inventory_alert_oldest_unsent_age_seconds",
                            "Seconds the oldest pending or sending alert has waited (0 when none).")
    age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
    return [rows, age]


def _model_info() -> Iterable:
    from django.conf import settings

    from detection.serving.runtime import ModelUnavailable, serving

    info = InfoMetricFamily("inventory_model", "The detection model this worker serves.")
    try:
        model = serving()
    except ModelUnavailable:
        return []
    detector = model.detector
    info.add_metric([], {"name": detector.model_name, "version": str(detector.version),
                         "file": detector.path.name if model.version_id else settings.MODEL_PATH.name,
                         "input_size": str(detector.input_size), "model_version": model.label})
    return [info]


def exposition() -> tuple[bytes, str]:
    """The page's body and content type: this process's metrics, or every worker's when shared."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator:
        return self.registry.collect()


def scrape_allowed(*, remote_addr: str, authorization: str) -> bool:
    """Loopback (or METRICS_ALLOW_FROM) by address; anyone else only with METRICS_TOKEN as a bearer token.

    The address is the connection's own (REMOTE_ADDR), never X-Forwarded-For: a header is whatever
    the client says it is, so behind a load balancer a scraper needs the token.
    """
    from django.conf import settings

    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        address = None
    if address is not None and any(address in network for network in _networks(tuple(settings.METRICS_ALLOW_FROM))):
        return True
    token = settings.METRICS_TOKEN
    scheme, _, given = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())


@functools.cache
def _networks(cidrs: tuple[str, ...]) -> list:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def metrics_view(request):
    from django.http import Http404, HttpResponse, JsonResponse

    if not enabled():
        raise Http404
    if not scrape_allowed(remote_addr=request.META.get("REMOTE_ADDR", ""),
                          authorization=request.headers.get("Authorization", "")):
        return JsonResponse({"detail": "Metrics are served to allowed addresses or with the metrics token."},
                            status=403)
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
