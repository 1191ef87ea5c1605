"""The dashboard's own metric: how many dashboards are connected over the WebSocket now (on detection's
metrics registry, so /metrics shows it with the rest)."""

from __future__ import annotations

from prometheus_client import Gauge

from detection.metrics import REGISTRY, enabled

# livesum: the workers' open sockets added up, each dead worker's share dropped (mark_process_dead).
WEBSOCKET_CLIENTS = Gauge(
    "inventory_websocket_clients", "Dashboards connected over the WebSocket now.",
    registry=REGISTRY, multiprocess_mode="livesum",
)


def websocket_opened() -> None:
    if enabled():
        WEBSOCKET_CLIENTS.inc()


def websocket_closed() -> None:
    if enabled():
        WEBSOCKET_CLIENTS.dec()
