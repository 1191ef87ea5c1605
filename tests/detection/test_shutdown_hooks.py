"""What the graceful shutdown (inventory_monitor/graceful.py) asks of the detection app: the offline
watch stopped. (The alert sender's stop is tested with the outbox, tests/detection/test_outbox.py.)"""

from __future__ import annotations

import threading

from detection.background import PeriodicThread
from detection.stock import offline


def test_the_offline_watch_stops_when_the_server_shuts_down(monkeypatch) -> None:
    checks = threading.Semaphore(0)

    def check() -> list:
        checks.release()
        return []

    monkeypatch.setattr("detection.stock.offline.cameras_check_offline", check)
    watch = PeriodicThread("offline-watch-test", offline._check_and_log)  # this test's own thread
    monkeypatch.setattr(offline, "offline_watch", watch)
    assert offline.start_offline_watch(0.01)
    assert checks.acquire(timeout=5)  # it runs
    offline.stop_offline_watch()
    assert watch.drain(5)  # ended
    assert not watch.running


def test_a_periodic_thread_survives_a_failing_round_and_drains() -> None:
    rounds = threading.Semaphore(0)

    def flaky() -> None:
        rounds.release()
        raise RuntimeError("database hiccup")

    thread = PeriodicThread("flaky-test", flaky, first_run_at_start=True)
    assert thread.start(0.01)
    assert not thread.start(0.01)  # once per process
    assert rounds.acquire(timeout=5) and rounds.acquire(timeout=5)  # a failure does not end it
    assert thread.drain(5) and not thread.running
