"""Hostile clients against one real Daphne worker, while real cameras keep posting frames.

    python -m benchmarks.hostile_clients                 # every attack, ~1 minute
    python -m benchmarks.hostile_clients --huge-mib 1024 --attackers 4

Starts the server as benchmarks.ingest does (temporary SQLite, cameras with keys, the shipped
model, default INGEST_MAX_BYTES), then runs, one phase at a time, while --cameras cameras post the
sample frames at --fps each:

  baseline      cameras only
  huge-no-key   --attackers clients each announce a --huge-mib body with no key and send it as fast
                as they can (until answered or cut off)
  huge-key      the same with a valid key (over the size limit)
  chunked-key   a chunked body with a valid key, no length announced, sent without end
  max-size      --attackers valid-key multipart uploads of an INGEST_MAX_BYTES file (random bytes,
                so 400 once parsed and read): the memory an accepted body can cost
  slow          --slow connections: a valid key and an 8 MB Content-Length, the body sent at 1 kB/s,
                plus as many sending their headers one byte a second
  many-idle     --idle connections opened and left idle

For each phase it prints the worker's RSS before, its peak (sampled every 20 ms) and after; what the
attackers got (status, seconds to the answer, bytes they managed to send); and the cameras' 201s,
errors and p95 latency. Memory figures are the whole worker (model included); the bound that
matters is the growth over the baseline.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.ingest import SHIPPED_MODEL, Server, pct, running_server
from benchmarks.proc import memory

REPO = Path(__file__).resolve().parent.parent
SAMPLES = sorted((REPO / "simulation" / "samples").glob("*.jpg"))
MIB = 1024 * 1024


# --- Measuring ------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    return memory(pid).rss_kib / 1024


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.02)


@dataclass
class CameraStats:
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)


def cameras(server: Server, count: int, fps: float, stop: threading.Event,
            stats: CameraStats) -> list[threading.Thread]:
    def loop(i: int) -> None:
        session = requests.Session()
        interval, n = 1.0 / fps, 0
        next_at = time.perf_counter() + i * interval / count
        while not stop.is_set():
            time.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            frame = SAMPLES[n % len(SAMPLES)].read_bytes()
            n += 1
            began = time.perf_counter()
            try:
                response = session.post(server.url(i), headers={"Authorization": f"Bearer {server.keys[i]}"},
                                        files={"image": ("f.jpg", frame, "image/jpeg")}, timeout=30)
                stats.statuses[response.status_code] += 1
                if response.status_code == 201:
                    stats.latencies_ms.append((time.perf_counter() - began) * 1000)
            except requests.RequestException as exc:
                stats.statuses[type(exc).__name__] += 1

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


# --- Attackers ------------------------------------------------------------------------------------


@dataclass
class Attack:
    status: int | str = "no answer"
    seconds: float = float("nan")
    body_bytes_sent: int = 0


def request_head(port: int, *, key: str | None, length: int | None) -> bytes:
    lines = ["POST /api/v1/frames/ HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Content-Type: multipart/form-data; boundary=x"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if key:
        lines.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def blast(port: int, head: bytes, *, total: int | None, chunked: bool = False, timeout_s: float = 60,
          payload: bytes | None = None) -> Attack:
    """Send the head, then body bytes as fast as the server takes them, until it answers or hangs up.

    The body is `payload` if given, else `total` zero bytes (None: zeros without end)."""
    attack, started = Attack(), time.perf_counter()
    size = 256 * 1024

    def next_block() -> bytes:
        sent = attack.body_bytes_sent
        if payload is not None:
            return payload[sent:sent + size]
        block = bytes(size if total is None else min(size, total - sent))
        return f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(head)
            while (total is None or attack.body_bytes_sent < total) and time.perf_counter() - started < timeout_s:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered
                block = next_block()
                try:
                    sock.sendall(block)
                except OSError:
                    break
                attack.body_bytes_sent += len(block)
            answer = sock.recv(64)
            attack.status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1") else "closed"
    except OSError as exc:
        attack.status = type(exc).__name__
    attack.seconds = time.perf_counter() - started
    return attack


def run_attackers(n: int, fn, *args, **kwargs) -> list[Attack]:
    results: list[Attack] = [Attack() for _ in range(n)]

    def one(i: int) -> None:
        results[i] = fn(*args, **kwargs)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def hold_slow(port: int, key: str, n: int, seconds: float) -> list[Attack]:
    """n slow bodies (1 kB/s, valid key) and n slow headers (1 byte/s) for `seconds`."""
    socks = []
    for _ in range(n):
        body = socket.create_connection(("127.0.0.1", port))
        body.sendall(request_head(port, key=key, length=8_000_000))
        slow_head = socket.create_connection(("127.0.0.1", port))
        socks += [(body, bytes(1000)), (slow_head, b"X")]
        slow_head.sendall(b"POST /api/v1/frames/ HTTP/1.1\r\nHost: x\r\n")
    end = time.monotonic() + seconds
    cut = 0
    while time.monotonic() < end:
        for sock, piece in socks:
            try:
                sock.sendall(piece)
            except OSError:
                cut += 1
        time.sleep(1)
    for sock, _ in socks:
        sock.close()
    return [Attack(status=f"{len(socks) - cut} of {len(socks)} still open after {seconds:.0f} s")]


def hold_idle(port: int, n: int, seconds: float) -> list[Attack]:
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    time.sleep(seconds)
    for sock in socks:
        sock.close()
    return [Attack(status=f"{n} idle connections held {seconds:.0f} s")]


# --- Report ---------------------------------------------------------------------------------------


def describe(name: str, before: float, peak: float, after: float, attacks: list[Attack], cams: CameraStats,
             seconds: float) -> str:
    answers = Counter(str(a.status) for a in attacks)
    timed = [a.seconds for a in attacks if isinstance(a.status, int)]
    sent = [a.body_bytes_sent for a in attacks]
    lines = [f"{name:<12} RSS MiB before {before:7.1f}  peak {peak:7.1f} (+{peak - before:6.1f})  after {after:7.1f}"]
    if attacks and any(a.body_bytes_sent or isinstance(a.status, int) for a in attacks):
        median = statistics.median(timed) if timed else float("nan")
        lines.append(f"{'':<12} attackers: {dict(answers)}; answer after {median:.2f} s "
                     f"(median); body sent before it: max {max(sent) / MIB:.1f} MiB")
    elif attacks:
        lines.append(f"{'':<12} attackers: {attacks[0].status}")
    lat = cams.latencies_ms
    lines.append(f"{'':<12} cameras: {dict(cams.statuses)} in {seconds:.0f} s; p50 {pct(lat, 50):.0f} ms, "
                 f"p95 {pct(lat, 95):.0f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile_clients", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=2, help="well-behaved cameras (default 2)")
    parser.add_argument("--fps", type=float, default=2.0, help="frames per second per camera (default 2)")
    parser.add_argument("--attackers", type=int, default=4, help="parallel hostile uploads (default 4)")
    parser.add_argument("--huge-mib", type=int, default=1024, help="announced size of the huge bodies (default 1024)")
    parser.add_argument("--slow", type=int, default=50, help="slow-body and slow-header connections, each (default 50)")
    parser.add_argument("--idle", type=int, default=500, help="idle connections (default 500)")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds the slow/idle connections are held")
    args = parser.parse_args(argv)

    print(f"hostile clients: 1 Daphne worker, {args.cameras} cameras at {args.fps:g} fps, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    with running_server(model=SHIPPED_MODEL, cameras=args.cameras, workers=1, detector_threads=1,
                        extra_env={}) as server:
        pid, port = server.pids[0], server.ports[0]
        huge = args.huge_mib * MIB
        key = server.keys[0]
        # A well-formed upload as large as accepted: Django parses it and the view reads the file
        # (junk, not a JPEG: 400). The memory an accepted body can cost.
        framing = b'--x\r\nContent-Disposition: form-data; name="image"; filename="f.jpg"\r\n\r\n'
        largest = framing + os.urandom(8 * MIB) + b"\r\n--x--\r\n"
        phases = [
            ("baseline", lambda: (time.sleep(4), [])[1]),
            ("huge-no-key", lambda: run_attackers(args.attackers, blast, port,
                                                  request_head(port, key=None, length=huge), total=huge)),
            ("huge-key", lambda: run_attackers(args.attackers, blast, port,
                                               request_head(port, key=key, length=huge), total=huge)),
            ("chunked-key", lambda: run_attackers(args.attackers, blast, port,
                                                  request_head(port, key=key, length=None), total=None,
                                                  chunked=True, timeout_s=20)),
            ("max-size", lambda: run_attackers(args.attackers, blast, port,
                                               request_head(port, key=key, length=len(largest)),
                                               total=len(largest), payload=largest)),
            ("slow", lambda: hold_slow(port, key, args.slow, args.hold)),
            ("many-idle", lambda: hold_idle(port, args.idle, args.hold)),
        ]
        for name, phase in phases:
            time.sleep(0.5)
            stats, stop = CameraStats(), threading.Event()
            before, sampler = rss_mib(pid), RssSampler(pid)
            sampler.start()
            cams = cameras(server, args.cameras, args.fps, stop, stats)
            started = time.perf_counter()
            attacks = phase()
            time.sleep(1.0)  # the cameras keep going a moment after the attack
            stop.set()
            for thread in cams:
                thread.join(30)
            sampler.stop.set()
            sampler.join()
            print(describe(name, before, sampler.peak, rss_mib(pid), attacks, stats, time.perf_counter() - started),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
