"""What the graceful shutdown (inventory_monitor/graceful.py) asks of the detection app: the offline
watch stopped. (The alert sender's stop is tested with the outbox, tests/detection/test_outbox.py.)"""

from __future__ import annotations

import threading

from detection import watch


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
