"""Dashboard latency: from a camera's 201 to the browser's DOM showing the new count.

    MODEL_PATH=... python -m benchmarks.dashboard_latency                 # 60 frames, one Daphne
    python -m benchmarks.dashboard_latency --frames 100 --interval 0.3 --screens /tmp/screens
    python -m benchmarks.dashboard_latency --redis                       # 2 workers + redis-server:
                                                                         # post to A, browser on B

What it does:
1. Starts Daphne itself (temporary SQLite, migrate, users, cameras; see tests/dashboard/live.py) and a
   headless Debian Chromium (/usr/bin/chromium; nothing downloaded), logs in as a viewer, waits until
   the dashboard's WebSocket is live.
2. Installs a MutationObserver on the inventory grid. The consumer replaces the whole camera card
   (an out-of-band swap), so the observer watches for the card's new count element being inserted
   and records `performance.timeOrigin + performance.now()` with the card's data-event-id.
3. Posts --frames real dataset frames one at a time (requests), recording the wall-clock time the 201
   arrived; then waits for the DOM record of that event id.
4. Prints p50/p95/max of (DOM update - 201 arrival). It can be negative: the broadcast is sent on
   commit, before the HTTP response is written, so the browser may update before the camera hears back.
   Both clocks are this machine's wall clock (same host), good to about a millisecond.
With --screens DIR it also fills a few cameras with different statuses and saves 1920x1080 and
390x844 screenshots of the dashboard (and the Inspector at 1920x1080).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import labelled_val_images
from tests.dashboard import live

OBSERVER_JS = """(slug) => {
  window.__updates = {};
  const grid = document.getElementById('inventory').parentElement;
  new MutationObserver((mutations) => {
    const t = performance.timeOrigin + performance.now();
    for (const m of mutations) for (const node of m.addedNodes) {
      if (node.nodeType !== 1) continue;
      const card = node.id === 'camera-' + slug ? node : node.querySelector?.('#camera-' + slug);
      const count = card && card.querySelector('[data-field=count]');
      if (count && card.dataset.eventId && !(card.dataset.eventId in window.__updates)) {
        window.__updates[card.dataset.eventId] = {t, count: count.textContent.trim()};
      }
    }
  }).observe(grid, {childList: true, subtree: true});
}"""


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between the closest ranks (p in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(page, post_url: str, key: str, images: list[Path], frames: int, interval: float) -> list[float]:
    page.evaluate(OBSERVER_JS, "bench")
    delays = []
    for i in range(frames):
        body = live.post_frame(post_url, key, images[i % len(images)])
        arrived_ms = time.time() * 1000
        event_id = str(body["event_id"])
        page.wait_for_function("(id) => id in window.__updates", arg=event_id, timeout=10_000)
        update = page.evaluate("(id) => window.__updates[id]", event_id)
        assert update["count"] == str(body["count"]), (update, body)
        delays.append(update["t"] - arrived_ms)
        time.sleep(interval)
    return delays


def screenshots(browser, server, keys: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # Different densities -> different statuses (critical <= 3, full >= 15).
    for slug, (low, high) in {"dock-full": (18, 40), "dock-warning": (7, 10), "dock-critical": (1, 3)}.items():
        for image, _ in labelled_val_images(min_boxes=low, max_boxes=high, limit=3):
            live.post_frame(server.url, keys[slug], image)
    for name, viewport in {"dashboard-1920x1080": (1920, 1080), "dashboard-390x844": (390, 844)}.items():
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        page = context.new_page()
        live.log_in(page, server.url, "manager")
        live.wait_live(page)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / f"{name}.png"))
        page.screenshot(path=str(out / f"{name}-full.png"), full_page=True)
        if viewport[0] == 1920:
            page.goto(server.url + "/inspector/")
            image, _ = labelled_val_images(min_boxes=10, max_boxes=30, limit=1)[0]
            page.set_input_files("#file-input", str(image))
            page.wait_for_selector("#result-figure:not([hidden])")
            page.screenshot(path=str(out / "inspector-1920x1080.png"))
        context.close()
    print(f"screenshots in {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.2, help="pause between frames (s)")
    parser.add_argument("--redis", action="store_true", help="two workers sharing redis-server: post to A, watch B")
    parser.add_argument("--screens", type=Path, default=None, help="save screenshots here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="dashboard-latency-"))
    slugs = ["bench", "dock-full", "dock-warning", "dock-critical", "dock-waiting"]
    keys = live.prepare_database(tmp / "db.sqlite3", slugs)
    redis = live.RedisServer().start() if args.redis else None
    env = {"REDIS_URL": redis.url} if redis else {}
    servers = [live.Daphne(sqlite_path=tmp / "db.sqlite3", log_path=tmp / f"daphne{i}.log", extra_env=env).start()
               for i in range(2 if redis else 1)]
    post_to, watch_on = servers[0], servers[-1]
    images = [path for path, _ in labelled_val_images(min_boxes=1, max_boxes=60, limit=40)]
    try:
        with sync_playwright() as playwright:
            browser = live.launch_chromium(playwright)
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            live.log_in(page, watch_on.url, "viewer")
            live.wait_live(page)
            measure(page, post_to.url, keys["bench"], images, 3, args.interval)  # warm-up, not counted
            delays = measure(page, post_to.url, keys["bench"], images, args.frames, args.interval)
            mode = "2 Daphne workers + redis-server (post to A, browser on B)" if redis else "1 Daphne, in-memory layer"
            print(f"dashboard latency, 201 arrival -> DOM update, {len(delays)} frames, {mode}:")
            print(f"  p50 {percentile(delays, 50):7.1f} ms   p95 {percentile(delays, 95):7.1f} ms   "
                  f"min {min(delays):7.1f} ms   max {max(delays):7.1f} ms   mean {statistics.fmean(delays):7.1f} ms")
            if args.screens:
                screenshots(browser, watch_on, keys, args.screens)
            browser.close()
    finally:
        for server in servers:
            server.stop()
        if redis:
            redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
