"""The dashboard's own metric: how many dashboards are connected over the WebSocket now (on detection's
metrics registry, so /metrics shows it with the rest)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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


# Issue 18: what was rendered for dashboards, by part: a stored frame's fragments ("card", "row",
# "status": dashboard/fragments.py, once per frame in the whole deployment) and the pushes a screen
# had to render itself ("push": no fragments could serve it, panels.updates_html).
DASHBOARD_RENDERS = Counter(
    "inventory_dashboard_renders", "Dashboard parts rendered: a frame's shared fragments (card, row, status) "
    "and pushes rendered by a screen itself (push).", ["part"], registry=REGISTRY,
)


def fragments_rendered(*, cards: int, rows: int, statuses: int) -> None:
    if enabled():
        DASHBOARD_RENDERS.labels("card").inc(cards)
        DASHBOARD_RENDERS.labels("row").inc(rows)
        DASHBOARD_RENDERS.labels("status").inc(statuses)


def push_rendered() -> None:
    if enabled():
        DASHBOARD_RENDERS.labels("push").inc()
