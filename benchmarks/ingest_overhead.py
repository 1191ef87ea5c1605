"""The server's own CPU per frame, outside the detector: in-process, through the real ASGI application.

    python -m benchmarks.ingest_overhead                     # 200 frames, 1 camera, sequential
    python -m benchmarks.ingest_overhead --frames 300 --cameras 4 --concurrency 4
    python -m benchmarks.ingest_overhead --stub-detector     # no ONNX at all (for valgrind/callgrind)
    python -m benchmarks.ingest_overhead --screens 10,5      # 10 dashboards + 5 camera pages open
    python -m benchmarks.ingest_overhead --stub-detector --cameras 100 --rate 50 --screens 10,5
                                                             # paced: 50 frames/s over 100 cameras

`benchmarks.ingest` measures a Daphne server from outside, where a loaded box turns every wall-clock
figure into noise. This one sends the same 1920x1080 JPEGs as multipart POSTs to
``inventory_monitor.asgi.application`` in this process (Django's ASGI handler, middleware, DRF,
multipart, decode, checks, storage, the transaction, history, the broadcast hand-off: everything
but Twisted's HTTP parsing), and reports CPU time, which other jobs on the box inflate far less
than wall time:

- process CPU per frame (all threads: getrusage), and the kernel's share of it (system time),
- of which ONNX Runtime's ``session.run`` (thread CPU time around each call; DETECTOR_THREADS=1
  runs it on the calling thread), and the rest: **the server's own CPU per frame**,
- the Server-Timing stages (wall ms, p50).

Same temporary SQLite file setup as benchmarks.ingest (WAL, SQLITE_SYNCHRONOUS as configured,
FULL by default); background threads (model watch, offline watch, sweeps, alert sender) are off so
they do not land in the per-frame figure. ``--stub-detector`` replaces the ONNX session by one that
returns no boxes, so a deterministic instruction count (``valgrind --tool=callgrind``) covers only
the server's own work. ``--screens D,C`` opens D dashboards and C camera pages (of the first
camera) as WebSockets on the same application (in-memory channel layer), logged in as an operator,
so their renders after each frame land in the per-frame CPU; the difference to ``--screens 0,0``
is what the broadcast costs. A screen merges the updates that reach it within
DASHBOARD_PUSH_INTERVAL_S into one push (dashboard/pushes.py), so it may get fewer pushes than
frames: the run reads each screen's pushes until one shows the newest frame (a dashboard's activity
log, a camera page's event list), then until no screen got anything for 0.3 s, and reports how
many pushes came.

By default frames are posted back to back (``--concurrency`` at a time: a closed loop, as fast as
the process goes). ``--rate FPS`` paces them instead: frame i is posted at i/FPS seconds, whatever
the answers to earlier ones (an open loop, as real cameras post), round-robin over ``--cameras``;
``--concurrency`` is then unused. With ``--stub-detector``, ``--cameras 100 --rate 100`` is 100
cameras at 1 frame/s each, if the process keeps up (it reports the rate it reached).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _environment(workdir: Path, extra: dict[str, str]) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "inventory_monitor.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SQLITE_PATH": str(workdir / "bench.sqlite3"),
        "MEDIA_ROOT": str(workdir / "media"),
        "DETECTOR_THREADS": "1",
        "INGEST_RATE_FRAMES": str(10**9),
        "LOG_LEVEL": "WARNING",
        "MODEL_SWITCH_POLL_S": "0",
        "OFFLINE_CHECK_INTERVAL_S": "0",
        "FRAME_SWEEP_INTERVAL_S": "0",
        "ALERT_SENDER_INTERVAL_S": "0",
        **extra,
    })
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)


class _TimedSession:
    """Wraps the ONNX session: thread CPU time spent in run(), summed over all threads."""

    def __init__(self, session, stub_output=None) -> None:
        self._session, self._stub = session, stub_output
        self.cpu_s = 0.0
        self._lock = threading.Lock()

    def run(self, *args, **kwargs):
        if self._stub is not None:
            return [self._stub]
        start = time.thread_time()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            spent = time.thread_time() - start
            with self._lock:
                self.cpu_s += spent

    def __getattr__(self, name):
        return getattr(self._session, name)


def _multipart(image: bytes) -> tuple[bytes, bytes]:
    boundary = uuid.uuid4().hex.encode()
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"image\"; filename=\"frame.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + image + b"\r\n--" + boundary + b"--\r\n")
    return body, b"multipart/form-data; boundary=" + boundary


async def _post(app, key: str, image: bytes) -> tuple[int, dict[str, float], int | None]:
    body, content_type = _multipart(image)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/v1/frames/", "raw_path": b"/api/v1/frames/", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode()),
                    (b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    sent_body = False

    async def receive():
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}

    answer: dict = {"body": b""}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.lower(): v for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    timing = answer.get("headers", {}).get(b"server-timing", b"").decode()
    stages = {}
    for part in filter(None, (p.strip() for p in timing.split(","))):
        name, _, dur = part.partition(";dur=")
        if dur:
            stages[name] = float(dur)
    event_id = json.loads(answer["body"]).get("event_id") if answer.get("status") == 201 else None
    return answer.get("status", 0), stages, event_id


async def _drive(app, keys: list[str], frames: list[bytes], total: int, concurrency: int) -> list:
    """Closed loop: `concurrency` clients, each posting its next frame when the last one is answered.
    Each result: (status, stages, event_id, sent by the first camera)."""
    results: list = []
    counter = iter(range(total))

    async def client(worker: int) -> None:
        for index in counter:
            key = keys[(worker + index) % len(keys)]
            results.append((*await _post(app, key, frames[index % len(frames)]), key == keys[0]))

    await asyncio.gather(*(client(w) for w in range(concurrency)))
    return results


async def _drive_paced(app, keys: list[str], frames: list[bytes], total: int, rate: float) -> list:
    """Open loop: frame i is posted at i / rate seconds from now, round-robin over the cameras."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(index: int) -> tuple:
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        key = keys[index % len(keys)]
        return (*await _post(app, key, frames[index % len(frames)]), key == keys[0])

    return list(await asyncio.gather(*(one(index) for index in range(total))))


async def _open_screens(app, dashboards: int, camera_pages: int, camera_slug: str) -> list:
    """Logged-in WebSockets, each past its snapshot; returns the communicators."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    @database_sync_to_async
    def cookie() -> bytes:
        user = get_user_model().objects.create_user(f"screen-{secrets.token_hex(4)}", password=secrets.token_hex(8))
        user.groups.add(Group.objects.get(name="Operators"))
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}; csrftoken=abc".encode()

    sockets = []
    paths = ["/ws/dashboard/"] * dashboards + [f"/ws/cameras/{camera_slug}/"] * camera_pages
    for path in paths:
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", await cookie())]
        socket = WebsocketCommunicator(app, path, headers=headers)
        connected, _ = await socket.connect(timeout=10)
        if not connected:
            raise RuntimeError(f"could not open {path}")
        await socket.receive_from(timeout=10)  # the snapshot
        sockets.append(socket)
    return sockets


async def _drain(sockets: list, dashboards: int, results: list) -> int:
    """Read the pushes these frames caused, however merged: on each dashboard until one shows the
    newest event (its activity-log row), on each camera page until one shows the first camera's
    newest event, then until the screen is quiet (a timeout is an error: it cancels the socket).
    Returns how many pushes came."""
    newest = max((event_id for _, _, event_id, _ in results if event_id), default=None)
    newest_first = max((event_id for _, _, event_id, first in results if event_id and first), default=None)

    async def until_newest(index: int, socket) -> int:
        wanted = f'id="event-{newest}"' if index < dashboards else f'id="camera-event-{newest_first}"'
        received = 0
        if (newest if index < dashboards else newest_first) is not None:
            while wanted not in await socket.receive_from(timeout=30):
                received += 1
            received += 1
        return received

    received = sum(await asyncio.gather(*(until_newest(index, socket) for index, socket in enumerate(sockets))))
    while sockets:  # pushes still on their way (a push can show the newest event before older ones go)
        await asyncio.sleep(0.3)
        more = 0
        for socket in sockets:
            while not await socket.receive_nothing(timeout=0):
                await socket.receive_from(timeout=30)
                more += 1
        received += more
        if not more:
            return received
    return received


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _system_s() -> float:
    """The kernel's share (file and WAL writes, fsync, frame deletions, futex wake-ups)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200, help="measured frames (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured frames first (default 20)")
    parser.add_argument("--cameras", type=int, default=1, help="cameras the frames are spread over (default 1)")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight (default 1)")
    parser.add_argument("--rate", type=float, default=0, metavar="FPS",
                        help="post frames at this total rate, round-robin over the cameras (open loop; "
                             "default: back to back)")
    parser.add_argument("--images", type=int, default=8, help="distinct 1920x1080 JPEGs to cycle (default 8)")
    parser.add_argument("--stub-detector", action="store_true", help="no ONNX run: the server's own work only")
    parser.add_argument("--screens", default="0,0", metavar="D,C",
                        help="dashboards, camera pages open during the run (default 0,0)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    try:
        _environment(workdir, dict(item.split("=", 1) for item in args.env))
        sys.path.insert(0, str(REPO))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from devices.services import camera_create

        keys = [camera_create(slug=f"bench-{i + 1}")[1] for i in range(args.cameras)]
        from django.db import connection

        connection.close()
        import numpy as np

        from inventory_monitor.asgi import application  # loads and warms the detector
        from detection.serving.runtime import get_detector
        from simulation.make_samples import render_frame

        detector = get_detector()
        stub = np.zeros((1, 5, 3549), np.float32) if args.stub_detector else None
        timed = _TimedSession(detector.session, stub)
        detector.session = timed
        frames = [render_frame(seed, n_cartons=6 + 3 * seed % 20) for seed in range(100, 100 + args.images)]

        loop = asyncio.new_event_loop()
        dashboards, camera_pages = (int(v) for v in args.screens.split(","))
        sockets = loop.run_until_complete(_open_screens(application, dashboards, camera_pages, "bench-1"))
        def drive(total: int) -> list:
            if args.rate > 0:
                return loop.run_until_complete(_drive_paced(application, keys, frames, total, args.rate))
            return loop.run_until_complete(_drive(application, keys, frames, total, args.concurrency))

        warm = drive(args.warmup)
        loop.run_until_complete(_drain(sockets, dashboards, warm))
        timed.cpu_s = 0.0
        cpu0, system0, wall0 = _cpu_s(), _system_s(), time.perf_counter()
        results = drive(args.frames)
        wall = time.perf_counter() - wall0
        # Renders still under way belong to these frames: the CPU window closes after the last push.
        pushes = loop.run_until_complete(_drain(sockets, dashboards, results))
        cpu, system = _cpu_s() - cpu0, _system_s() - system0
        if sockets:
            print(f"screens: {dashboards} dashboard(s) + {camera_pages} camera page(s), {pushes} pushes received "
                  f"({pushes / max(1, len(sockets)):.1f} per screen for {len(results)} frames)")
        if args.rate > 0:
            print(f"paced: {args.rate:g} frames/s asked, {(len(results) - 1) / wall:.1f} frames/s reached "
                  f"(last answer after {wall:.2f} s, schedule {(len(results) - 1) / args.rate:.2f} s)")
        ok = [stages for status, stages, _, _ in results if status == 201]
        codes = sorted({status for status, _, _, _ in results})
        per_frame = cpu * 1000 / max(1, len(ok))
        onnx = timed.cpu_s * 1000 / max(1, len(ok))
        print(f"frames {len(ok)} ok of {len(results)} (codes {codes}), {args.cameras} camera(s), "
              f"{f'rate {args.rate:g}/s' if args.rate > 0 else f'concurrency {args.concurrency}'}, "
              f"{'stub detector' if stub is not None else 'ONNX'}; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"CPU per frame: process {per_frame:.2f} ms, ONNX run {onnx:.2f} ms, "
              f"server's own {per_frame - onnx:.2f} ms  (wall {wall * 1000 / max(1, len(results)):.1f} ms/frame)")
        print(f"  of the process CPU, in the kernel: {system * 1000 / max(1, len(ok)):.2f} ms per frame")
        names = sorted({name for stages in ok for name in stages}, key=lambda n: list(ok[0]).index(n)
                       if ok and n in ok[0] else 99)
        print("stages p50 ms: " + "  ".join(
            f"{name} {statistics.median([s[name] for s in ok if name in s]):.2f}" for name in names))
        db_file = os.environ["SQLITE_PATH"]
        open_db = sum(1 for fd in Path("/proc/self/fd").iterdir() if os.path.realpath(fd) == db_file)
        print(f"SQLite connections open at the end: {open_db} (file descriptors on the database file)")
        print(f"RESULT own_ms={per_frame - onnx:.3f} process_ms={per_frame:.3f} onnx_ms={onnx:.3f}")
        return 0 if len(ok) == len(results) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
