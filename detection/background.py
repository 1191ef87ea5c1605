"""Periodic background threads, one way: start once per process, wake early, stop, drain.

Every worker runs a few loops beside its requests (the model watch, the offline watch, the frame
sweep, the alert sender). Each is a PeriodicThread: ``work`` runs every ``interval_s`` seconds (or at once after
``wake()``), a failure is logged and the loop goes on, the thread's database connection is closed
after each round, and ``stop()``/``drain(timeout)`` end it on shutdown (a round under way finishes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections

logger = logging.getLogger(__name__)


class PeriodicThread:
    def __init__(self, name: str, work: Callable[[], object], *, first_run_at_start: bool = False) -> None:
        self.name = name
        self._work = work
        self._first_run_at_start = first_run_at_start  # else the first round waits one interval
        self.stopping = threading.Event()  # set by stop(): work that loops checks it between items
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, interval_s: float) -> bool:
        """Start the thread unless it runs already; interval 0 (or less) disables it. Returns whether it started."""
        with self._lock:
            if interval_s <= 0 or self._thread is not None:
                return False
            self.stopping.clear()
            self._thread = threading.Thread(target=self._run, args=(interval_s,), name=self.name, daemon=True)
            self._thread.start()
            return True

    def wake(self) -> None:
        """Run the next round now instead of at the end of the interval."""
        self._wake.set()

    def stop(self) -> None:
        """No round starts after this; one under way finishes."""
        self.stopping.set()
        self._wake.set()

    def drain(self, timeout: float) -> bool:
        """stop(), then wait up to ``timeout`` s for a round under way; True when the thread has ended.
        The thread may be started again afterwards (tests do)."""
        self.stop()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self, interval_s: float) -> None:
        if not self._first_run_at_start:
            self._wake.wait(interval_s)
        while not self.stopping.is_set():
            self._wake.clear()
            try:
                self._work()
            except Exception:  # a database hiccup must not end the loop
                logger.exception("%s failed; trying again in %s s", self.name, interval_s)
            finally:
                close_old_connections()
            self._wake.wait(interval_s)
