"""The puller loop behind `manage.py pull_cameras`: take due cameras, pull them on a few threads, repeat.

At most CAMERA_PULL_CONCURRENCY pulls run at once (each waits mostly on the network; decoding and
the detector are bounded by DETECTOR_CONCURRENCY as for posted frames). A puller takes only as many
leases as it has free threads, so several pullers share the cameras between them. ``stop()`` (SIGTERM)
ends the loop: no new pull starts, the pulls under way finish, and the puller's leases are given back.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.db import close_old_connections
from django.utils import timezone

from detection import metrics
from detection.pull.leases import leases_claim, leases_release
from detection.pull.models import PullSource
from detection.pull.services import PullOutcome, pull_once

logger = logging.getLogger(__name__)


def puller_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class Puller:
    def __init__(self, *, concurrency: int, tick_s: float = 0.25, owner: str | None = None) -> None:
        self.concurrency = max(1, concurrency)
        self.tick_s = tick_s
        self.owner = owner or puller_name()
        self.stopping = threading.Event()
        self.outcomes: list[PullOutcome] = []  # the last few, for tests and --once

    def stop(self) -> None:
        self.stopping.set()

    def run(self, *, once: bool = False, drain_s: float = 30) -> None:
        """Pull until stop(); with ``once``, one round of the cameras due now, then return."""
        in_flight: set[Future] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="pull") as pool:
            try:
                while not self.stopping.is_set():
                    in_flight = {future for future in in_flight if not future.done()}
                    claimed = leases_claim(owner=self.owner, limit=self.concurrency - len(in_flight))
                    in_flight |= {pool.submit(self._pull, source) for source in claimed}
                    close_old_connections()
                    if once and not claimed:
                        break
                    if once:
                        wait(in_flight)
                        continue
                    self.stopping.wait(self.tick_s)
            finally:
                wait(in_flight, timeout=drain_s)  # pulls under way finish (each is bounded by its timeout)
                leases_release(owner=self.owner)
                close_old_connections()

    def _pull(self, source: PullSource) -> PullOutcome | None:
        try:
            metrics.pull_lag(seconds=max(0.0, (timezone.now() - source.next_pull_at).total_seconds()))
            outcome = pull_once(source, owner=self.owner)
            self.outcomes = [*self.outcomes[-99:], outcome]
            return outcome
        except Exception:  # one camera's surprise must not end the puller
            logger.exception("pull of %s failed unexpectedly", source.camera.slug)
            return None
        finally:
            close_old_connections()
