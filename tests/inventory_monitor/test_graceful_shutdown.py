"""A worker stopped under load (SIGTERM: ECS deploys, `docker stop`; Ctrl-C on a laptop) finishes
what it accepted and exits by itself: exit code 0, before its drain time is up, every frame that got
a 201 in the database and no frame stored whose camera was not told.

A real Daphne with the shipped model, cameras posting the sample frames in a closed loop, and a
dashboard's WebSocket open.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import SAMPLES
from tests.dashboard.live import PASSWORD, Daphne, prepare_database

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
        out.append(Outcome(slug, began, time.monotonic(), response.status_code, body.get("event_id"),
                           body.get("detail")))


class DashboardSocket(threading.Thread):
    """A logged-in dashboard's WebSocket (raw: no client library needed), read until the server closes it."""

    def __init__(self, base_url: str, port: int) -> None:
        super().__init__(daemon=True)
        session = requests.Session()
        login = f"{base_url}/accounts/login/"
        session.get(login, timeout=10)
        session.post(login, data={"username": "viewer", "password": PASSWORD,
                                  "csrfmiddlewaretoken": session.cookies["csrftoken"]}, timeout=10)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(
            f"GET /ws/dashboard/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {base_url}\r\nCookie: sessionid={session.cookies['sessionid']}\r\n\r\n".encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.messages = 0
        self.close_code: int | None = None
        self.closed_at: float | None = None

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            more = self.sock.recv(65536)
            if not more:
                raise EOFError
            self.buffer += more
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def run(self) -> None:
        try:
            while True:
                first, second = self._read(2)
                length = second & 0x7F
                if length == 126:
                    length = int.from_bytes(self._read(2), "big")
                elif length == 127:
                    length = int.from_bytes(self._read(8), "big")
                payload = self._read(length)
                if first & 0x0F == 0x8:  # close frame: status code first
                    self.close_code, self.closed_at = int.from_bytes(payload[:2], "big"), time.monotonic()
                    return
                self.messages += 1
        except (EOFError, OSError):
            self.closed_at = time.monotonic()


def test_it_finishes_in_flight_frames_and_exits_0_within_the_drain_time_on_sigterm(tmp_path) -> None:
    slugs = [f"drain-{i}" for i in range(CAMERAS)]
    keys = prepare_database(tmp_path / "db.sqlite3", slugs)
    # The alert sender runs too (to a mail server that is down, so it keeps retrying): it must stop in time.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_smtp_port = unused.getsockname()[1]
    server = Daphne(tmp_path / "db.sqlite3", tmp_path / "daphne.log",
                    extra_env={"SHUTDOWN_DRAIN_S": str(DRAIN_S), "ALERT_SENDER_INTERVAL_S": "1",
                               "ALERT_EMAILS": "ops@example.com", "EMAIL_HOST": "127.0.0.1",
                               "EMAIL_PORT": str(dead_smtp_port), "LOG_LEVEL": "INFO"}).start()
    process = server.process
    stop = threading.Event()
    outcomes: list[Outcome] = []
    dashboard = DashboardSocket(server.url, server.port)
    dashboard.start()
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
    assert "alerts pending in the database for the next worker" in log  # the sender was stopped, not lost

    # The open dashboard was told to go away (1001: it reconnects) after the signal, not dropped.
    assert dashboard.messages > 1  # the snapshot, then live updates
    assert dashboard.close_code == 1001 and dashboard.closed_at > sigterm_at

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
