"""A model switch under load: two Daphne workers, cameras posting frames to both, `manage.py model
activate` (and a rollback) while they do.

    python -m benchmarks.model_switch                                   # SQLite, 8 cameras, 30 s, 2 switches
    python -m benchmarks.model_switch --cameras 8 --seconds 30 --switches 3 --poll 2
    scripts/with_postgres.sh .venv/bin/python -m benchmarks.model_switch --redis   # PostgreSQL + Redis

Two versions are installed first (the previous default, package_detector_base, and the shipped model with one more metadata
entry, so another sha256); the workers start on the bundled file. Switch i activates version A or B in
turn; the last of several switches is a `model rollback`. Each camera posts real sample frames
(simulation/samples, 1 MB JPEGs) in a loop, alternating between the two workers, at --fps (0: as fast as
answered). Every worker's /healthz is polled every 0.1 s. The load runs --seconds, and on until both
workers serve the last switch's version, plus one second.

It prints: frames sent, 201s, anything else by status; frames answered 201 but not in the database
(within each camera's 20-row log) and stored without a 201; per switch and worker, the seconds from
the switch's commit until the worker swapped sessions (its log; with the load+warm time) and until
its /healthz showed the new version (sync views share one thread, so /healthz waits behind frames);
and frames that began after their worker had switched yet recorded the old version (must be 0).
"""

from __future__ import annotations

import argparse
import re
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.dashboard import live

REPO = live.REPO
SAMPLES = REPO / "simulation" / "samples"
WEIGHTS = REPO / "detection" / "weights"


@dataclass
class Post:
    camera: str
    worker: int
    began: float
    ended: float
    status: int | str
    event_id: int | None = None


@dataclass
class Switch:
    command: list[str]
    expected: int | None  # version id (None: bundled)
    done_at: float  # epoch seconds, when the switch was committed
    served_after: dict[int, float | None] = field(default_factory=dict)  # worker -> seconds, seen in /healthz
    swapped_after: dict[int, float | None] = field(default_factory=dict)  # worker -> seconds, its own log
    load_s: dict[int, float | None] = field(default_factory=dict)  # worker -> seconds to load and warm


@dataclass
class Result:
    posts: list[Post]
    switches: list[Switch]
    lost: int  # 201 but not in the database (within the kept log)
    unacked: int  # in the database without a 201
    stale: int  # began after its worker switched, recorded the old version
    versions: dict[int, int | None]  # event id -> model_version id
    duration: float = 0.0  # seconds of load

    @property
    def codes(self) -> Counter:
        return Counter(p.status for p in self.posts)


class Environment:
    """Database (SQLite file, or DATABASE_URL), optional Redis, shared MEDIA_ROOT, two workers."""

    def __init__(self, root: Path, *, poll_s: float, redis: bool, database_url: str = "") -> None:
        self.root = root
        self.redis = live.RedisServer().start() if redis else None
        self.extra = {"MODEL_SWITCH_POLL_S": str(poll_s), "MEDIA_ROOT": str(root / "media"),
                      "DETECTOR_CONCURRENCY": "1"}
        if database_url:
            self.extra["DATABASE_URL"] = database_url
        if self.redis:
            self.extra.update(REDIS_URL=self.redis.url, REDIS_PREFIX=f"switch{self.redis.port}")
        self.sqlite = root / "db.sqlite3"
        self.workers: list[live.Daphne] = []

    def env(self) -> dict[str, str]:
        return live.server_env(self.sqlite, **self.extra)

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], cwd=REPO, env=self.env(),
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def prepare(self, slugs: list[str], versions: int = 2) -> tuple[dict[str, str], list[int]]:
        """Migrate, create cameras, install `versions` (1 or 2) versions; returns keys and their ids."""
        self.manage("migrate", "-v0")
        script = f"PASSWORD = {live.PASSWORD!r}\nSLUGS = {slugs!r}\n" + live.SETUP_SCRIPT
        out = self.manage("shell", "-c", script)
        keys = json.loads(next(ln for ln in out.splitlines() if ln.startswith("KEYS=")).removeprefix("KEYS="))
        other = self.root / "shipped_copy.onnx"
        _copy_with_note(WEIGHTS / "package_detector.int8.onnx", other)
        candidates = ((WEIGHTS / "package_detector_base.int8.onnx", "base"), (other, "shipped-copy"))
        ids = []
        for path, name in candidates[:versions]:
            out = self.manage("model", "install", str(path), "--name", name)
            ids.append(int(re.search(r"Installed #(\d+) ", out).group(1)))
        return keys, ids

    def start(self, count: int = 2) -> None:
        """Start the workers side by side (each loads and warms its model) and wait until all are healthy."""
        self.workers = [live.Daphne(sqlite_path=self.sqlite, log_path=self.root / f"worker{i}.log",
                                    extra_env=self.extra) for i in range(count)]
        errors: list[Exception] = []

        def start(worker: live.Daphne) -> None:
            try:
                worker.start(timeout=120)
            except Exception as exc:  # reported below, after every start has finished
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(worker,)) for worker in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def events(self) -> list[tuple[int, str, int | None]]:
        out = self.manage("shell", "-c", "import json; from detection.models import DetectionEvent as E; "
                          "print(json.dumps(list(E.objects.values_list('pk', 'camera__slug', 'model_version_id'))))")
        return [tuple(row) for row in json.loads(out.strip().splitlines()[-1])]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.redis:
            self.redis.stop()


def _copy_with_note(source: Path, target: Path) -> None:
    import onnx

    model = onnx.load(str(source))
    model.metadata_props.add(key="note", value="benchmark copy (another sha256)")
    onnx.save(model, str(target))


def _camera(workers: list[str], slug: str, key: str, fps: float, stop: threading.Event, out: list[Post],
            offset: int) -> None:
    frames = [p.read_bytes() for p in sorted(SAMPLES.glob("*.jpg"))]
    session, n = requests.Session(), offset
    while not stop.is_set():
        worker = n % len(workers)
        began = time.time()
        try:
            response = session.post(f"{workers[worker]}/api/v1/frames/", headers={"Authorization": f"Bearer {key}"},
                                    files={"image": ("f.jpg", frames[n % len(frames)], "image/jpeg")}, timeout=60)
            status = response.status_code
            event = response.json().get("event_id") if status == 201 else None
        except (requests.RequestException, ValueError) as exc:
            status, event = type(exc).__name__, None
        out.append(Post(slug, worker, began, time.time(), status, event))
        n += 1
        if fps > 0:
            time.sleep(max(0.0, 1 / fps - (time.time() - began)))


def _health(url: str, stop: threading.Event, out: list[tuple[float, int | None]]) -> None:
    session = requests.Session()
    while not stop.is_set():
        try:
            body = session.get(f"{url}/healthz", timeout=10).json()
            out.append((time.time(), body.get("model_serving_id", "?")))
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.1)


def run(env: Environment, keys: dict[str, str], ids: list[int], *, seconds: float, switches: int, fps: float,
        settle_s: float = 2.0) -> Result:
    """Load for `seconds`, switching `switches` times at even intervals after `settle_s` of load."""
    urls = [w.url for w in env.workers]
    stop = threading.Event()
    posts: list[Post] = []
    health: dict[int, list] = {i: [] for i in range(len(urls))}
    threads = [threading.Thread(target=_camera, args=(urls, slug, key, fps, stop, posts, i), daemon=True)
               for i, (slug, key) in enumerate(keys.items())]
    threads += [threading.Thread(target=_health, args=(url, stop, health[i]), daemon=True)
                for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    start = time.time()
    done: list[Switch] = []
    history: list[int | None] = [None]  # what was active, oldest first (None: bundled)
    try:
        for i in range(switches):
            time.sleep(max(0.0, start + settle_s + i * (seconds - settle_s) / max(switches, 1) - time.time()))
            if switches > 1 and i == switches - 1:
                command, expected = ["model", "rollback"], history[-2]
            else:
                target = ids[i % len(ids)]
                command, expected = ["model", "activate", str(target)], target
            out = env.manage(*command)
            committed = re.search(r"\(committed ([^)]+)\)", out).group(1)
            done.append(Switch(command, expected, datetime.fromisoformat(committed).timestamp()))
            history.append(expected)
        time.sleep(max(0.0, start + seconds - time.time()))
        # Then keep the load on until every worker serves the last switch's version, and 1 s more, so
        # each worker's last frames show it (at most 20 s: a worker that never switches is a finding).
        deadline = time.time() + 20
        while done and time.time() < deadline and not all(
                any(t >= done[-1].done_at and served == done[-1].expected for t, served in list(seen))
                for seen in health.values()):
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        stop.set()
        duration = time.time() - start
        for thread in threads:
            thread.join(90)
    for switch in done:
        for worker, seen in health.items():
            after = [t for t, served in seen if t >= switch.done_at and served == switch.expected]
            switch.served_after[worker] = round(after[0] - switch.done_at, 2) if after else None
    for worker, daphne in enumerate(env.workers):
        swaps = _swaps(daphne.log_path)
        for switch, (at, load) in zip(done, swaps):
            switch.swapped_after[worker], switch.load_s[worker] = round(at - switch.done_at, 2), load
    result = _verify(env, posts, done, health)
    result.duration = duration
    return result


def _swaps(log: Path) -> list[tuple[float, float]]:
    """(epoch seconds, load seconds) of each "model switched" line a worker logged (times in UTC)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*model switched: .*warmed in ([\d.]+) s", line)
        if match:
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
            found.append((at + int(match[2]) / 1000, float(match[3])))
    return found


def _verify(env: Environment, posts: list[Post], switches: list[Switch], health: dict[int, list]) -> Result:
    rows = env.events()
    versions = {pk: version for pk, _, version in rows}
    lost = unacked = 0
    for slug in {p.camera for p in posts}:
        stored = {pk for pk, camera, _ in rows if camera == slug}
        acked = {p.event_id for p in posts if p.camera == slug and p.status == 201}
        kept = {pk for pk in acked if stored and pk >= min(stored)}  # the log keeps each camera's newest 20
        lost += len(kept - stored)
        unacked += len(stored - acked)
    stale = 0
    for i, switch in enumerate(switches):
        until = switches[i + 1].done_at if i + 1 < len(switches) else float("inf")
        for worker, seconds in switch.served_after.items():
            if seconds is None:
                continue
            flipped = switch.done_at + seconds
            stale += sum(1 for p in posts if p.worker == worker and p.status == 201 and p.event_id in versions
                         and flipped + 0.2 < p.began and p.ended < until and versions[p.event_id] != switch.expected)
    return Result(posts, switches, lost, unacked, stale, versions)


def describe(result: Result) -> list[str]:
    codes, seconds = result.codes, result.duration
    lines = [f"frames sent {len(result.posts)} in {seconds:.0f} s ({len(result.posts) / seconds:.1f}/s); "
             f"201: {codes.get(201, 0)}; other: {dict((k, v) for k, v in codes.items() if k != 201) or 'none'}",
             f"201 not in the database: {result.lost}; stored without a 201: {result.unacked}; "
             f"frames on the old version after their worker switched: {result.stale}"]
    for n, switch in enumerate(result.switches, 1):
        served = "; ".join(
            f"worker {w}: " + ("not within the run" if s is None else
                               f"swapped {switch.swapped_after.get(w, '?')} s "
                               f"(load+warm {switch.load_s.get(w, '?')} s), "
                               f"/healthz {s:.2f} s")
            for w, s in switch.served_after.items())
        lines.append(f"switch {n} ({' '.join(switch.command[1:])} -> "
                     f"{'bundled' if switch.expected is None else '#' + str(switch.expected)}): {served}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--switches", type=int, default=2)
    parser.add_argument("--fps", type=float, default=2.0, help="per camera; 0: closed loop")
    parser.add_argument("--poll", type=float, default=2.0, help="MODEL_SWITCH_POLL_S of the workers")
    parser.add_argument("--redis", action="store_true", help="a local redis-server for channels and the cache")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="model-switch-") as tmp:
        env = Environment(Path(tmp), poll_s=args.poll, redis=args.redis, database_url=database_url)
        try:
            keys, ids = env.prepare([f"switch-{i}" for i in range(args.cameras)])
            env.start(2)
            print(f"database: {'PostgreSQL' if database_url else 'SQLite'}; channel layer/cache: "
                  f"{'Redis' if args.redis else 'in-memory (per worker)'}; 2 workers, {args.cameras} cameras at "
                  f"{args.fps or 'max'} fps each, MODEL_SWITCH_POLL_S={args.poll:g}", flush=True)
            result = run(env, keys, ids, seconds=args.seconds, switches=args.switches, fps=args.fps)
        finally:
            env.stop()
    for line in describe(result):
        print(line)
    ok = (set(result.codes) == {201} and not result.lost and not result.unacked and not result.stale
          and all(s is not None for sw in result.switches for s in sw.served_after.values()))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
