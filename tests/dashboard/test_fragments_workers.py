"""Two Daphne workers on one redis-server: a frame's dashboard fragments are rendered once in the
whole deployment, by the worker that stored it, and dashboards on both workers show it."""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
import struct
import threading

import pytest
import requests

from tests.dashboard import live

pytestmark = [pytest.mark.redis, pytest.mark.slow]


class Screens:
    """Signed-in dashboard sockets that keep what they receive: a plain socket speaking just enough
    WebSocket (RFC 6455: the handshake, unmasked text frames from the server), one reader thread each.
    (autobahn's asyncio client, which benchmarks/screens.py uses, cannot run in a process where
    Daphne's import chose Twisted for txaio.)"""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def open(self, port: int, session: str) -> list[str]:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws/dashboard/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: http://127.0.0.1:{port}\r\n"
                      f"Cookie: sessionid={session}; csrftoken={secrets.token_hex(16)}\r\n\r\n").encode())
        reader = sock.makefile("rb")
        assert reader.readline().split()[1] == b"101"
        while reader.readline() not in (b"\r\n", b""):
            pass
        texts: list[str] = []
        threading.Thread(target=self._read, args=(reader, texts), daemon=True).start()
        self.sockets.append(sock)
        return texts

    @staticmethod
    def _read(reader, texts: list[str]) -> None:
        try:
            while header := reader.read(2):
                opcode, length = header[0] & 0x0F, header[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", reader.read(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", reader.read(8))[0]
                payload = reader.read(length)
                if opcode == 1:
                    texts.append(payload.decode())
                elif opcode == 8:
                    return
        except OSError:
            return

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def renders(worker: live.Daphne) -> dict[str, float]:
    """The worker's dashboard render counters (/metrics, per process here)."""
    text = requests.get(f"{worker.url}/metrics", timeout=10).text
    return {part: float(value) for part, value in
            re.findall(r'^inventory_dashboard_renders_total\{part="(\w+)"\} (\S+)$', text, re.M)}


def wait_for(condition, timeout: float = 15) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def shown_everywhere(seen: list[list[str]], event_id: int) -> list[str]:
    """The push that carried the event to each screen (waits for all of them)."""
    marker = f'id="event-{event_id}"'
    wait_for(lambda: all(any(marker in text for text in texts[1:]) for texts in seen))
    return [next(text for text in texts[1:] if marker in text) for texts in seen]


def made(workers: list[live.Daphne], action) -> list[dict[str, float]]:
    """What each worker rendered for dashboards while `action` ran."""
    before = [renders(worker) for worker in workers]
    action()
    after = [renders(worker) for worker in workers]
    return [{part: after[i].get(part, 0) - before[i].get(part, 0) for part in ("card", "row", "status", "push")}
            for i in range(len(workers))]


ONCE = {"card": 1, "row": 1, "status": 1, "push": 0}
NOTHING = {"card": 0, "row": 0, "status": 0, "push": 0}


def test_a_frame_is_rendered_once_for_dashboards_on_every_worker(tmp_path, redis_server, real_images):
    sqlite_path = tmp_path / "shared.sqlite3"
    env = {"SECRET_KEY": secrets.token_urlsafe(40), "REDIS_URL": redis_server.url,
           "REDIS_PREFIX": f"test{redis_server.port}"}
    keys = live.prepare_database(sqlite_path, ["dock-a", "dock-b"], **env)
    sessions = live.signed_in_sessions(sqlite_path, "viewer", 3, **env)
    workers = [live.Daphne(sqlite_path=sqlite_path, log_path=tmp_path / f"{name}.log", extra_env=env)
               for name in ("a", "b", "c")]
    screens = Screens()
    try:
        for worker in workers:
            worker.start()
        # Two dashboards on worker B, one on worker A, none on worker C; each first gets its snapshot.
        seen = [screens.open(workers[1].port, sessions[0]), screens.open(workers[1].port, sessions[1]),
                screens.open(workers[0].port, sessions[2])]
        wait_for(lambda: all(texts for texts in seen))
        bodies = []

        # Worker A stores a frame: it renders the card, the row and the status once; worker B's screens
        # show them without rendering anything, and no screen renders a push of its own.
        post = lambda worker, slug: lambda: bodies.append(  # noqa: E731
            (body := live.post_frame(worker.url, keys[slug], real_images[0]), shown_everywhere(seen, body["event_id"])))
        assert made(workers, post(workers[0], "dock-a")) == [ONCE, NOTHING, NOTHING]
        # Worker C has no screen: it knows from Redis that some are open elsewhere.
        assert made(workers, post(workers[2], "dock-b")) == [NOTHING, NOTHING, ONCE]

        for (body, pushes), slug in zip(bodies, ("dock-a", "dock-b")):
            for push in pushes:
                assert f'id="camera-{slug}"' in push and f'data-event-id="{body["event_id"]}"' in push
                assert 'id="system-status"' in push
    finally:
        screens.close()
        for worker in workers:
            worker.stop()
