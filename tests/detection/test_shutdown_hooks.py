"""What the graceful shutdown (inventory_monitor/graceful.py) asks of the detection app: queued
alerts delivered while there is time and dropped after, the offline watch stopped."""

from __future__ import annotations

import threading

from detection import alerts, watch
from detection.alerts import StockAlert


def an_alert(slug: str) -> StockAlert:
    return StockAlert(camera_slug=slug, camera_name=slug, location="", previous_status="WARNING",
                      status="CRITICAL", smoothed_count=1, critical_level=3, target_capacity=15)


def test_shutdown_drops_the_alerts_it_has_no_time_to_deliver(settings, monkeypatch) -> None:
    settings.ALERT_EMAILS = ["ops@example.com"]
    release = threading.Event()
    delivered: list[str] = []

    def slow_delivery(alert: StockAlert) -> None:  # a mail server that hangs
        release.wait(10)
        delivered.append(alert.camera_slug)

    monkeypatch.setattr(alerts, "_deliver", slow_delivery)
    futures = [alerts.stock_alert_send(an_alert(f"dock-{i}")) for i in range(3)]
    try:
        # The first is being sent and cannot be stopped; the two queued behind it are dropped.
        assert alerts.alerts_drain(timeout=0.2) == 2
        assert [f.cancelled() for f in futures] == [False, True, True]
    finally:
        release.set()
    futures[0].result(timeout=10)
    alerts.flush_alerts(timeout=10)
    assert delivered == ["dock-0"]


def test_shutdown_waits_for_alerts_that_can_still_be_delivered(settings, monkeypatch) -> None:
    settings.ALERT_EMAILS = ["ops@example.com"]
    delivered: list[str] = []
    monkeypatch.setattr(alerts, "_deliver", lambda alert: delivered.append(alert.camera_slug))
    for i in range(3):
        alerts.stock_alert_send(an_alert(f"dock-{i}"))
    assert alerts.alerts_drain(timeout=10) == 0
    assert delivered == ["dock-0", "dock-1", "dock-2"]


def test_the_offline_watch_stops_when_the_server_shuts_down(monkeypatch) -> None:
    checks = threading.Semaphore(0)

    def check() -> list:
        checks.release()
        return []

    monkeypatch.setattr("detection.services.cameras_check_offline", check)
    monkeypatch.setattr(watch, "_stopped", threading.Event())  # this test's own switch
    thread = threading.Thread(target=watch._run, args=(0.01,), daemon=True)
    thread.start()
    assert checks.acquire(timeout=5)  # it runs
    watch.stop_offline_watch()
    thread.join(5)
    assert not thread.is_alive()
