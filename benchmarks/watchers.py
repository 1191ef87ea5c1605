"""People watching: many cameras posting while dashboards and camera pages are open (issue 18).

    python -m benchmarks.watchers --null-model                       # 100 cameras x 1 fps, 10 + 5 screens, 60 s
    python -m benchmarks.watchers --null-model --screens 1,0         # the 1-screen figure to compare with
    python -m benchmarks.watchers --null-model --baseline-cpu-ms 20.4  # ... and the 10 % goal against its figure
    python -m benchmarks.watchers --cameras 20 --seconds 30          # the real detector, 10 + 5 screens
    python -m benchmarks.watchers --cameras 20 --screens 0,0 --workers 1 --seconds 600   # RSS after 10 min

What it does:
1. Starts --workers Daphne processes (default 2; tests/dashboard/live.py) on one temporary SQLite
   file with redis-server as the channel layer and cache (--workers 1: the in-memory layer, no
   Redis), DEBUG off, background threads as in production; creates --cameras cameras
   (cam-001, ...) and the viewer account.
2. Opens --screens D,C: D dashboards and C camera pages (of cam-002, cam-003, ...). One dashboard
   is a real headless Chromium page (/usr/bin/chromium) on the last worker, logged in through the
   login form, with a MutationObserver that timestamps each new card of the probe camera cam-001
   (benchmarks.dashboard_latency's). The other screens are light WebSocket clients
   (/ws/dashboard/, /ws/cameras/<slug>/) spread over the workers, each with its own signed-in
   viewer session and this site's Origin, that read and count every push. They use autobahn, the
   WebSocket library Daphne itself is built on (installed with it): no added dependency.
3. Renders 8 different 1920x1080 JPEGs (simulation.make_samples) and drives every camera in its own
   thread (benchmarks.ingest's camera loop), open loop at --fps, ticks spread uniformly over one
   interval, camera i posting to worker i mod W (the probe, cam-001, to the first worker, so its
   update crosses Redis to the Chromium page). Before the cameras start, --idle s of each worker's
   CPU with the screens open (background threads, sockets); after --warmup s, --seconds s are
   measured; then up to --drain s until no screen has received anything for 1 s.
4. Prints: posts scheduled / posted / 201 / refused (any other answer) and ticks skipped; how late
   posts started (p50/p95/max) and the answer time; the probe's 201 -> DOM delay p50/p95/max
   (time.time() when its 201 arrived vs the page's clock when the card appeared; same host), and
   how many of its stored frames never showed as the card's latest (superseded or dropped);
   each worker's CPU (utime + stime from /proc, at the window's start and end) per stored frame,
   and their sum; redis-server's CPU; the CPU of everything else (this process: cameras and light
   screens; Playwright; Chromium) and of the whole box; pushes and bytes per screen per second, and
   frames per push after the drain (frames stored since the screen opened, for a camera page those
   of its camera, over the pushes it received: a screen merges the frames of each
   DASHBOARD_PUSH_INTERVAL_S into one push, dashboard/pushes.py); each worker's VmRSS
   / VmHWM every
   --rss-every s and at the end. Then the goals: nothing refused, 201 -> DOM p95 <= 100 ms, CPU per
   frame <= 1.1 x --baseline-cpu-ms (when given), worker RSS <= 200 MB. Exit status 1 when one is missed.

--null-model serves benchmarks.null_model's zeros model instead of the shipped detector (~14 ms of
CPU per frame on the 2-core dev box: 100 frames/s do not fit there): same input and output, no
boxes, near-zero cost. Everything else is real (HTTP, multipart, decode, checks, storage, the
transaction, history, alerts, broadcasts, renders); every count is 0, so every camera stays
CRITICAL and the dashboard's order never changes (with the real model, cards also move). The first
and last lines say which model ran; each worker's /healthz confirms it.

Caveats: everything runs on one box. The cameras, the light screens (one Python process, one
asyncio thread), Playwright and Chromium take CPU from the servers: their CPU is printed, and on
a 2-core box a busy client shows up as server latency. The CPU window is the measured one; when
the servers fall behind, renders of earlier frames land in it and renders of its last frames after
it (steady state: about even). A camera a whole interval late skips ticks rather than catching up
(skipped ticks are printed). The 201 -> DOM delay can be negative: the broadcast is sent on commit,
before the answer is written. The Chromium page reads the dashboard's default view (all cameras).
--keep keeps the temporary folder (Daphne logs: why a frame got a 500, why a socket closed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks import ingest, proc
from benchmarks.dashboard_latency import percentile
from benchmarks.null_model import write_null_model
from benchmarks.screens import BrowserScreen, LightScreens, Screen, plan_screens, wait_quiet
from simulation.make_samples import render_frame
from tests.dashboard import live

PROBE = "cam-001"
DOM_P95_GOAL_MS = 100.0
CPU_GOAL_RATIO = 1.10
RSS_GOAL_MB = 200.0


# --- Measuring ------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    at: float
    workers_cpu: list[float]
    redis_cpu: float
    others_cpu: float  # this process and its children that are not servers (Playwright, Chromium)
    box: tuple[int, int]
    screens: list[tuple[int, int]]
    browser: tuple[int, int]


def snapshot(workers: list[int], redis: int | None, screens: LightScreens | None,
             browser: BrowserScreen | None) -> Snapshot:
    servers = {*workers, *([redis] if redis else [])}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = [pid for pid in proc.descendants(os.getpid()) if pid not in servers]
    return Snapshot(
        at=time.perf_counter(),
        workers_cpu=[proc.cpu_seconds(pid) for pid in workers],
        redis_cpu=proc.cpu_seconds(redis) if redis else 0.0,
        others_cpu=usage.ru_utime + usage.ru_stime + proc.cpu_seconds_of(children),
        box=proc.box_jiffies(),
        screens=screens.counts() if screens else [],
        browser=browser.counts() if browser else (0, 0),
    )


def rss_line(elapsed: float, workers: list[int]) -> str:
    parts = []
    for number, pid in enumerate(workers, 1):
        memory = proc.memory(pid)
        parts.append(f"worker {number} {memory.rss_mb:6.1f} (peak {memory.hwm_mb:6.1f})")
    return f"  RSS MB at {elapsed:5.0f} s: " + "   ".join(parts)


def pcts(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}  max {max(values):7.1f} ms  "
            f"({len(values)})")


# --- Report ---------------------------------------------------------------------------------------


def report_posts(window: list[ingest.Sample], cameras: int, fps: float, seconds: float) -> list[str]:
    ok = [s for s in window if s.status == 201]
    refused = Counter(str(s.status) for s in window if s.status != 201)
    why = f" ({', '.join(f'{k}: {v}' for k, v in sorted(refused.items()))})" if refused else ""
    return [
        f"posts: scheduled {cameras * fps * seconds:.0f}, posted {len(window)}, 201 {len(ok)}, refused "
        f"{len(window) - len(ok)}{why}, ticks skipped {sum(s.skipped for s in window)}",
        f"  post start lag     {pcts([s.lag_ms for s in window])}",
        f"  answer time (201)  {pcts([s.latency_ms for s in ok])}",
    ]


def probe_delays(window: list[ingest.Sample], updates: dict[str, dict]) -> tuple[list[float], int]:
    """201 -> DOM delays (ms) of the probe's stored frames, and how many never showed as the card."""
    stored = [s for s in window if s.status == 201 and s.event_id is not None]
    shown = [updates[str(s.event_id)]["t"] - s.answered_at * 1000 for s in stored if str(s.event_id) in updates]
    return shown, len(stored) - len(shown)


def report_screens(screens: list[Screen], a: Snapshot, b: Snapshot, seconds: float, stored: dict[str, int],
                   browser_total: tuple[int, int] | None, total_stored: int) -> list[str]:
    lines = []
    for kind in ("dashboard", "camera"):
        picked = [j for j, s in enumerate(screens) if s.kind == kind]
        if not picked:
            continue
        rates = [(b.screens[j][0] - a.screens[j][0]) / seconds for j in picked]
        kbs = [(b.screens[j][1] - a.screens[j][1]) / seconds / 1024 for j in picked]
        merged = [(total_stored if kind == "dashboard" else stored[screens[j].slug]) / max(1, screens[j].messages)
                  for j in picked]
        lines.append(f"  {len(picked)} light {kind} screen(s): {statistics.fmean(rates):.1f} pushes/s and "
                     f"{statistics.fmean(kbs):.1f} KiB/s each (min {min(rates):.1f}, max {max(rates):.1f} pushes/s); "
                     f"frames per push {min(merged):.1f}-{max(merged):.1f}")
    if browser_total is not None:
        rate = (b.browser[0] - a.browser[0]) / seconds
        chars = (b.browser[1] - a.browser[1]) / seconds / 1024
        lines.append(f"  Chromium dashboard: {rate:.1f} pushes/s, {chars:.1f} Ki chars/s; frames per push "
                     f"{total_stored / max(1, browser_total[0]):.1f}")
    closed = [f"{s.path} on :{s.port} ({s.close_code})" for s in screens if s.close_code is not None]
    if closed:
        lines.append("  CLOSED during the run: " + ", ".join(closed))
    return lines


def report_cpu(a: Snapshot, b: Snapshot, idle: list[float], ok: int, ports: list[int], seconds: float,
               placement: list[str], redis: bool) -> tuple[list[str], float]:
    """Per worker and together; `idle`: each worker's cores before the cameras started (screens open)."""
    lines = []
    total = 0.0
    for number, (port, before, after, where, rest) in enumerate(
            zip(ports, a.workers_cpu, b.workers_cpu, placement, idle), 1):
        spent = after - before
        total += spent
        lines.append(f"  worker {number} (:{port}, {where}): {spent:.1f} s CPU = {spent / seconds:.2f} cores "
                     f"(idle before: {rest:.3f}), {spent * 1000 / max(1, ok):.2f} ms per stored frame")
    per_frame = total * 1000 / max(1, ok)
    beyond_idle = (total - sum(idle) * seconds) * 1000 / max(1, ok)
    busy, all_ticks = (b.box[0] - a.box[0]), (b.box[1] - a.box[1])
    cores = os.cpu_count() or 1
    lines.append(f"  workers together: {per_frame:.2f} ms CPU per stored frame ({ok} frames, {total / seconds:.2f} "
                 f"cores; {beyond_idle:.2f} ms beyond their idle CPU)")
    redis_part = f"redis-server {(b.redis_cpu - a.redis_cpu) / seconds:.2f} cores; " if redis else ""
    box = busy / max(1, all_ticks) * cores
    lines.append(f"  {redis_part}load generator (cameras, light screens, Playwright, Chromium) "
                 f"{(b.others_cpu - a.others_cpu) / seconds:.2f} cores; whole box {box:.2f} of {cores} cores busy "
                 "(other jobs included)")
    return lines, per_frame


def verdict(name: str, ok: bool, detail: str) -> str:
    return f"goal {name}: {detail} -> {'MET' if ok else 'MISSED'}"


# --- Run ------------------------------------------------------------------------------------------


def parse_screens(text: str) -> tuple[int, int]:
    try:
        dashboards, camera_pages = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("--screens wants D,C (dashboards, camera pages), e.g. 10,5") from None
    if dashboards < 0 or camera_pages < 0:
        raise argparse.ArgumentTypeError("--screens wants counts >= 0")
    return dashboards, camera_pages


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watchers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=100, help="cameras posting (default 100)")
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second per camera (default 1)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds first (default 10)")
    parser.add_argument("--screens", type=parse_screens, default=(10, 5), metavar="D,C",
                        help="dashboards (one in Chromium), camera pages (default 10,5)")
    parser.add_argument("--workers", type=int, default=2, help="Daphne workers; 1 = in-memory layer (default 2)")
    parser.add_argument("--null-model", action="store_true", help="serve a zeros model instead of the detector")
    parser.add_argument("--model", type=Path, default=ingest.SHIPPED_MODEL, help="ONNX model (default: shipped)")
    parser.add_argument("--baseline-cpu-ms", type=float, default=None,
                        help="the --screens 1,0 figure: checks CPU per frame <= 110 %% of it")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measured first (default 5)")
    parser.add_argument("--rss-every", type=float, default=10.0, help="seconds between RSS samples (default 10)")
    parser.add_argument("--drain", type=float, default=30.0, help="max seconds to wait for pushes after the load")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (Daphne logs, database)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra server environment")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cameras < 1 or args.fps <= 0 or args.workers < 1:
        print("error: need --cameras >= 1, --fps > 0, --workers >= 1", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-watchers-"))
    try:
        code = run(args, tmp)
    except BaseException:
        print(f"logs kept in {tmp}", file=sys.stderr)
        raise
    if args.keep:
        print(f"kept {tmp} (daphne*.log, db.sqlite3)")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return code


def run(args: argparse.Namespace, tmp: Path) -> int:
    model = write_null_model(tmp / "null_zeros.onnx") if args.null_model else args.model
    label = (f"NULL MODEL {model.name} (zeros, no boxes; not the detector)" if args.null_model
             else f"{model.name} (the real detector)")
    dashboards, camera_pages = args.screens
    slugs = [f"cam-{i + 1:03d}" for i in range(args.cameras)]
    env = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(40), "MEDIA_ROOT": str(tmp / "media"),
           "MODEL_PATH": str(model), **dict(item.split("=", 1) for item in args.env)}
    load1, load5, _ = os.getloadavg()
    print(f"watchers: {args.cameras} cameras x {args.fps:g} fps, screens {dashboards} dashboard(s) "
          f"({'1 in Chromium' if dashboards else 'no Chromium'}) + {camera_pages} camera page(s), {args.workers} "
          f"Daphne worker(s){' + redis-server' if args.workers > 1 else ', in-memory layer'}; model: {label}; "
          f"{os.cpu_count()} cores, load average {load1:.2f} / {load5:.2f}", flush=True)
    frames = [render_frame(seed, n_cartons=6 + 3 * seed % 20) for seed in range(100, 108)]
    db = tmp / "db.sqlite3"
    keys = live.prepare_database(db, slugs, **env)
    browser_on = dashboards > 0
    sessions = live.signed_in_sessions(db, "viewer", dashboards - browser_on + camera_pages, **env)
    redis = live.RedisServer().start() if args.workers > 1 else None
    servers: list[live.Daphne] = []
    screens: LightScreens | None = None
    from playwright.sync_api import sync_playwright

    with sync_playwright() if browser_on else contextlib.nullcontext() as playwright:
        try:
            worker_env = {**env, **({"REDIS_URL": redis.url} if redis else {})}
            servers = [live.Daphne(sqlite_path=db, log_path=tmp / f"daphne{i + 1}.log", extra_env=worker_env).start()
                       for i in range(args.workers)]
            models = {requests.get(f"{s.url}/healthz", timeout=10).json().get("model_name") for s in servers}
            print(f"  workers serve model_name {sorted(models)} (/healthz)", flush=True)
            browser = BrowserScreen(playwright, servers[-1].url, PROBE) if browser_on else None
            planned = plan_screens(dashboards, camera_pages, slugs, [s.port for s in servers], browser_on)
            if planned:
                screens = LightScreens(planned, sessions)
                screens.open()
            target = ingest.Server(ports=[s.port for s in servers], pids=[s.process.pid for s in servers],
                                   keys=[keys[slug] for slug in slugs], workdir=tmp)
            return measure(args, servers, redis, screens, browser, target, frames, slugs, label)
        finally:
            if screens:
                screens.close()
            for server in servers:
                server.stop()
            if redis:
                redis.stop()


def idle_cores(workers: list[int], seconds: float) -> list[float]:
    """Each worker's CPU (cores) with the screens open and no frames: background threads, open sockets."""
    before, at = [proc.cpu_seconds(pid) for pid in workers], time.perf_counter()
    time.sleep(seconds)
    after, span = [proc.cpu_seconds(pid) for pid in workers], time.perf_counter() - at
    return [(y - x) / span for x, y in zip(before, after)]


@dataclass
class Load:
    samples: list[list[ingest.Sample]]  # per camera, every post from the start (warm-up included)
    start: float
    measure_from: float
    stop: float
    a: Snapshot  # at measure_from
    b: Snapshot  # at stop

    def window(self, per: list[ingest.Sample] | None = None) -> list[ingest.Sample]:
        """Posts started in the measured window (of one camera, or of all)."""
        chosen = per if per is not None else [s for camera in self.samples for s in camera]
        return [s for s in chosen if self.measure_from <= s.started < self.stop]


def drive(args: argparse.Namespace, target: ingest.Server, frames: list[bytes], redis_pid: int | None,
          screens: LightScreens | None, browser: BrowserScreen | None) -> Load:
    """The cameras for warm-up + measured seconds; snapshots at the window's edges, RSS every --rss-every s."""
    start = time.perf_counter()
    measure_from, stop = start + args.warmup, start + args.warmup + args.seconds
    threads, samples = ingest.start_cameras(target, frames, args.cameras, fps=args.fps, start=start,
                                            measure_from=start, stop=stop)
    a, next_rss = None, start
    while (now := time.perf_counter()) < stop:
        if a is None and now >= measure_from:
            a = snapshot(target.pids, redis_pid, screens, browser)
        if now >= next_rss:
            print(rss_line(now - start, target.pids), flush=True)
            next_rss += args.rss_every
        time.sleep(max(0.0, min(next_rss, stop, measure_from if a is None else stop) - time.perf_counter()))
    b = snapshot(target.pids, redis_pid, screens, browser)
    for thread in threads:
        thread.join(90)  # a post times out after 60 s
    return Load(samples, start, measure_from, stop, a, b)


def placement(args: argparse.Namespace, servers: list[live.Daphne], light: list[Screen], browser: bool) -> list[str]:
    """What each worker serves: its cameras (i mod W) and screens."""
    found = []
    for number, server in enumerate(servers):
        cams = sum(1 for i in range(args.cameras) if i % len(servers) == number)
        mine = Counter(s.kind for s in light if s.port == server.port)
        chromium = " + Chromium" if browser and number == len(servers) - 1 else ""
        found.append(f"{cams} cameras, {mine['dashboard']} + {mine['camera']} light screens{chromium}")
    return found


def measure(args: argparse.Namespace, servers: list[live.Daphne], redis: live.RedisServer | None,
            screens: LightScreens | None, browser: BrowserScreen | None, target: ingest.Server, frames: list[bytes],
            slugs: list[str], label: str) -> int:
    redis_pid = redis.process.pid if redis else None
    idle = idle_cores(target.pids, args.idle)
    load = drive(args, target, frames, redis_pid, screens, browser)
    last_answer = max((s.answered_at for per in load.samples for s in per), default=0.0)
    last_push = wait_quiet(screens, browser, args.drain)
    final = [proc.memory(pid) for pid in target.pids]
    window = load.window()
    ok = sum(1 for s in window if s.status == 201)
    stored = {slug: sum(1 for s in per if s.status == 201) for slug, per in zip(slugs, load.samples)}
    lines = report_posts(window, args.cameras, args.fps, args.seconds)
    delays, unseen = probe_delays(load.window(load.samples[0]), browser.updates()) if browser else ([], 0)
    if browser:
        lines.append(f"probe {PROBE} 201 -> DOM (Chromium on worker {len(servers)}): {pcts(delays)}; "
                     f"never shown: {unseen}")
    span = load.b.at - load.a.at
    light = screens.screens if screens else []
    if light or browser:
        after = f"the last push came {last_push - last_answer:.2f} s after the last camera's answer" if last_push \
            else "no push"
        lines.append(f"screens (rates in the measured window; {after}):")
        lines += report_screens(light, load.a, load.b, span, stored, browser.counts() if browser else None,
                                sum(stored.values()))
    lines.append("CPU in the measured window:")
    cpu_lines, per_frame = report_cpu(load.a, load.b, idle, ok, target.ports, span,
                                      placement(args, servers, light, browser is not None), redis is not None)
    lines += cpu_lines
    lines.append(f"memory at the end ({time.perf_counter() - load.start:.0f} s after the first post, pushes drained): "
                 + "   ".join(f"worker {n} VmRSS {m.rss_mb:.1f} MB, VmHWM {m.hwm_mb:.1f} MB"
                              for n, m in enumerate(final, 1)))
    print("\n".join(lines), flush=True)
    return goals(args, window, delays, per_frame, max(m.rss_mb for m in final), label)


def goals(args: argparse.Namespace, window: list[ingest.Sample], delays: list[float], per_frame: float,
          peak: float, label: str) -> int:
    refused = sum(1 for s in window if s.status != 201)
    checks = [(verdict("no frame refused", refused == 0, f"{refused} of {len(window)} posts"), refused == 0)]
    if delays:
        p95 = percentile(delays, 95)
        note = "" if len(delays) >= 60 else f", only {len(delays)} samples (< 60)"
        checks.append((verdict(f"201 -> DOM p95 <= {DOM_P95_GOAL_MS:.0f} ms", p95 <= DOM_P95_GOAL_MS,
                               f"{p95:.1f} ms{note}"), p95 <= DOM_P95_GOAL_MS))
    if args.baseline_cpu_ms:
        ratio = per_frame / args.baseline_cpu_ms
        met = ratio <= CPU_GOAL_RATIO
        checks.append((verdict(f"CPU per frame <= {CPU_GOAL_RATIO:.2f} x the 1-screen figure", met,
                               f"{per_frame:.2f} / {args.baseline_cpu_ms:.2f} ms = {ratio:.2f}"), met))
    checks.append((verdict(f"worker RSS <= {RSS_GOAL_MB:.0f} MB (issue 18: after 10 min at 20 cameras x 1 fps)",
                           peak <= RSS_GOAL_MB, f"largest VmRSS {peak:.1f} MB at the end"), peak <= RSS_GOAL_MB))
    print("\n".join(line for line, _ in checks))
    print(f"RESULT cpu_ms_per_frame={per_frame:.3f} dom_p95_ms={percentile(delays, 95):.1f} refused={refused} "
          f"rss_mb_max={peak:.1f}  (model: {label})", flush=True)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
