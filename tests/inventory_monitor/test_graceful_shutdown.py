"""A worker stopped under load (SIGTERM: ECS deploys, `docker stop`; Ctrl-C on a laptop) finishes
what it accepted and exits by itself: exit code 0, before its drain time is up, every frame that got
a 201 in the database and no frame stored whose camera was not told.

A real Daphne with the shipped model, cameras posting the sample frames in a closed loop.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import SAMPLES
from tests.dashboard.live import Daphne, prepare_database

DRAIN_S = 10
CAMERAS = 4


@dataclass
class Outcome:
    camera: str
    began: float
    ended: float
    status: int | str  # HTTP status, or the name of the client-side error
    event_id: int | None = None
    detail: str | None = None


def _camera_loop(base_url: str, slug: str, key: str, stop: threading.Event, out: list[Outcome]) -> None:
    session = requests.Session()
    frames = sorted(SAMPLES.glob("*.jpg"))
    index = 0
    while not stop.is_set():
        frame = frames[index % len(frames)]
        index += 1
        began = time.monotonic()
        try:
            response = session.post(f"{base_url}/api/v1/frames/", headers={"Authorization": f"Bearer {key}"},
                                    files={"image": (frame.name, frame.read_bytes(), "image/jpeg")}, timeout=30)
        except requests.RequestException as exc:
            out.append(Outcome(slug, began, time.monotonic(), type(exc).__name__))
            time.sleep(0.05)  # the listener is closed: don't spin
            continue
        body = response.json()
        out.append(Outcome(slug, began, time.monotonic(), response.status_code, body.get("event_id"), body.get("detail")))


def test_it_finishes_in_flight_frames_and_exits_0_within_the_drain_time_on_sigterm(tmp_path) -> None:
    slugs = [f"drain-{i}" for i in range(CAMERAS)]
    keys = prepare_database(tmp_path / "db.sqlite3", slugs)
    server = Daphne(tmp_path / "db.sqlite3", tmp_path / "daphne.log",
                    extra_env={"SHUTDOWN_DRAIN_S": str(DRAIN_S)}).start()
    process = server.process
    stop = threading.Event()
    outcomes: list[Outcome] = []
    threads = [threading.Thread(target=_camera_loop, args=(server.url, slug, keys[slug], stop, outcomes), daemon=True)
               for slug in slugs]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while not all(sum(o.camera == s and o.status == 201 for o in outcomes) >= 2 for s in slugs):
            assert time.monotonic() < deadline, f"cameras not served: {outcomes[-5:]}"
            time.sleep(0.05)

        sigterm_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(DRAIN_S + 20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"the worker was still running {DRAIN_S + 20} s after SIGTERM (killed); "
                        f"log: {(tmp_path / 'daphne.log').read_text()[-2000:]}")
        exited_after = time.monotonic() - sigterm_at
    finally:
        stop.set()
        for thread in threads:
            thread.join(40)
        server.stop()

    log = (tmp_path / "daphne.log").read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert exited_after < DRAIN_S, f"exited {exited_after:.1f} s after SIGTERM; drain time is {DRAIN_S} s"

    # Frames that were being processed when the signal came were finished and answered, not cut off.
    assert any(o.status == 201 and o.began < sigterm_at < o.ended for o in outcomes)
    # After the signal a camera is refused cleanly: a JSON 503 (retry), or no connection at all.
    for o in outcomes:
        assert o.status == 201 or o.began >= sigterm_at - 0.5, o
        assert o.status in (201, 503, "ConnectionError"), o
        if o.status == 503:
            assert o.detail
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        rows = db.execute("SELECT e.id, c.slug FROM detection_detectionevent e "
                          "JOIN devices_camera c ON c.id = e.camera_id").fetchall()
    for slug in slugs:
        stored = {event_id for event_id, camera in rows if camera == slug}
        acked = {o.event_id for o in outcomes if o.camera == slug and o.status == 201}
        # Each camera keeps its newest 20 events: compare within what its log still holds.
        kept = {event_id for event_id in acked if event_id >= min(stored)}
        assert kept == stored, f"{slug}: stored without a 201: {stored - acked}; 201 not stored: {kept - stored}"
