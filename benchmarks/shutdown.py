"""How a worker stops under load: SIGTERM while cameras post frames (what every ECS deploy does).

    python -m benchmarks.shutdown                       # 4 and 8 cameras, 3 stops each
    python -m benchmarks.shutdown --cameras 8 --runs 5 --drain 20 --slow-upload

Each run: a fresh SQLite database and one Daphne worker (the shipped model, SHUTDOWN_DRAIN_S=--drain),
N cameras posting 1920x1080 JPEGs in a closed loop for --load seconds, then SIGTERM. It prints per
run: seconds from the signal to the process's exit, the exit status, how many frames were in flight
at the signal and answered 201 after it, how many requests were refused after it (JSON 503, or no
connection), and whether the database holds exactly the frames that got a 201 (per camera, within
the 20-row log).

--slow-upload adds a client that has sent its headers and trickles its body at 1 kB/s when the
signal comes: the drain waits for it until SHUTDOWN_DRAIN_S, then gives up on it, so that run's exit
time shows the bound.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from simulation.make_samples import render_frame
from tests.dashboard.live import Daphne, prepare_database


def camera(url: str, key: str, frames: list[bytes], stop: threading.Event, out: list[tuple]) -> None:
    session, n = requests.Session(), 0
    while not stop.is_set():
        began = time.monotonic()
        try:
            response = session.post(f"{url}/api/v1/frames/", headers={"Authorization": f"Bearer {key}"},
                                    files={"image": ("f.jpg", frames[n % len(frames)], "image/jpeg")}, timeout=60)
            status, event = response.status_code, response.json().get("event_id")
        except requests.RequestException as exc:
            status, event = type(exc).__name__, None
            time.sleep(0.05)
        n += 1
        out.append((key, began, time.monotonic(), status, event))


def slow_upload(port: int, key: str, stop: threading.Event) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"POST /api/v1/frames/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                     "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n".encode())
        while not stop.is_set():
            try:
                sock.sendall(bytes(1000))
            except OSError:
                return
            time.sleep(1)


def one_run(cameras: int, frames: list[bytes], *, drain_s: int, load_s: float, slow: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-shutdown-"))
    slugs = [f"stop-{i}" for i in range(cameras)]
    keys = prepare_database(tmp / "db.sqlite3", slugs)
    server = Daphne(tmp / "db.sqlite3", tmp / "daphne.log", extra_env={"SHUTDOWN_DRAIN_S": str(drain_s)}).start()
    stop, outcomes = threading.Event(), []
    threads = [threading.Thread(target=camera, args=(server.url, keys[s], frames, stop, outcomes), daemon=True)
               for s in slugs]
    if slow:
        threads.append(threading.Thread(target=slow_upload, args=(server.port, keys[slugs[0]], stop), daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(load_s)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        code: int | str = server.process.wait(drain_s + 30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        code = "killed"
    exit_s = time.monotonic() - signalled
    stop.set()
    for thread in threads:
        thread.join(60)
    with sqlite3.connect(tmp / "db.sqlite3") as db:
        rows = db.execute("SELECT e.id, c.slug FROM detection_detectionevent e "
                          "JOIN devices_camera c ON c.id = e.camera_id").fetchall()
    consistent = True
    for slug in slugs:
        stored = {event for event, owner in rows if owner == slug}
        acked = {o[4] for o in outcomes if o[0] == keys[slug] and o[3] == 201}
        consistent &= {e for e in acked if stored and e >= min(stored)} == stored
    after = Counter(str(o[3]) for o in outcomes if o[2] > signalled and o[3] != 201)
    return {"exit_s": exit_s, "code": code, "consistent": consistent,
            "answered_after": sum(1 for o in outcomes if o[3] == 201 and o[1] < signalled < o[2]),
            "refused_after": dict(after), "frames": sum(1 for o in outcomes if o[3] == 201)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shutdown", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", default="4,8", help="camera counts, comma-separated (default 4,8)")
    parser.add_argument("--runs", type=int, default=3, help="stops per camera count (default 3)")
    parser.add_argument("--drain", type=int, default=20, help="SHUTDOWN_DRAIN_S (default 20)")
    parser.add_argument("--load", type=float, default=3.0, help="seconds of load before the signal (default 3)")
    parser.add_argument("--slow-upload", action="store_true", help="add a client trickling a body at the signal")
    args = parser.parse_args(argv)
    frames = [render_frame(seed, n_cartons=6 + 3 * seed % 20) for seed in range(100, 108)]
    print(f"shutdown benchmark: SHUTDOWN_DRAIN_S={args.drain}, {args.load:g} s of closed-loop load, "
          f"1920x1080 JPEGs{', one slow upload' if args.slow_upload else ''}")
    failures = 0
    for cameras in (int(c) for c in args.cameras.split(",")):
        results = [one_run(cameras, frames, drain_s=args.drain, load_s=args.load, slow=args.slow_upload)
                   for _ in range(args.runs)]
        for r in results:
            print(f"  {cameras} cameras: exit {r['code']} after {r['exit_s']:.2f} s; {r['answered_after']} in flight "
                  f"answered 201 after the signal; refused after: {r['refused_after'] or 'none'}; "
                  f"{r['frames']} frames, database {'== 201s' if r['consistent'] else 'DIFFERS from the 201s'}")
            failures += r["code"] != 0 or not r["consistent"] or r["exit_s"] > args.drain + 5
        times = [r["exit_s"] for r in results]
        print(f"  {cameras} cameras: exit time median {statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"(drain limit {args.drain} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
