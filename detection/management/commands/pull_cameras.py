"""Pull frames from the cameras that have a pull source (HTTP snapshot or RTSP), until SIGTERM.

    python manage.py pull_cameras                      # runs until stopped
    python manage.py pull_cameras --once               # one round of the cameras due now (cron, tests)
    python manage.py pull_cameras --metrics-port 9108  # Prometheus metrics of this puller

Run as many as you like, on one host or many, against the same database: each camera is pulled by one
puller at a time (database leases); a puller that dies hands its cameras over within CAMERA_PULL_LEASE_S.
"""

from __future__ import annotations

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from detection.pull.puller import Puller

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Pull frames from cameras with a pull source (each camera by one puller at a time); stops on SIGTERM."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="one round of the cameras due now, then exit")
        parser.add_argument("--concurrency", type=int, default=None,
                            help="pulls at once (default CAMERA_PULL_CONCURRENCY)")
        parser.add_argument("--metrics-port", type=int, default=0,
                            help="serve this puller's Prometheus metrics on this port (0: off)")
        parser.add_argument("--metrics-addr", default="127.0.0.1", help="address for --metrics-port")

    def handle(self, *args, once: bool, concurrency: int | None, metrics_port: int, metrics_addr: str,
               **options) -> None:
        puller = Puller(concurrency=concurrency or settings.CAMERA_PULL_CONCURRENCY)
        if metrics_port:
            from prometheus_client import start_http_server

            from detection.metrics import REGISTRY

            start_http_server(metrics_port, addr=metrics_addr, registry=REGISTRY)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: puller.stop())
        self.stdout.write(f"puller {puller.owner}: {puller.concurrency} at once"
                          f"{', one round' if once else ''}; stop with SIGTERM", ending="\n")
        self.stdout.flush()
        puller.run(once=once)
        ok = sum(outcome.ok for outcome in puller.outcomes)
        self.stdout.write(f"puller {puller.owner} stopped: {ok} frame(s), {len(puller.outcomes) - ok} failure(s) "
                          "in its last pulls")
