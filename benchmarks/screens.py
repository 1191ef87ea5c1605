"""Screens that watch the dashboard's live pushes, for the benchmarks: light WebSocket clients and a
real Chromium dashboard.

Light screens (`LightScreens`) open /ws/dashboard/ or /ws/cameras/<slug>/ as a signed-in viewer (a
session key from tests/dashboard/live.py's signed_in_sessions) with this site's Origin, and only
read: each counts its pushes and bytes. They use autobahn's asyncio client, the WebSocket library
Daphne is built on (installed with it, so nothing is added), all on one event loop in a thread.
`BrowserScreen` is a headless Chromium dashboard (tests/dashboard/live.py) with
benchmarks.dashboard_latency's MutationObserver on one camera's card and a counter of what htmx's
WebSocket extension received.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass

from benchmarks.dashboard_latency import OBSERVER_JS
from tests.dashboard import live

# Counts what the Chromium page's htmx WebSocket extension received (after its snapshot).
COUNTER_JS = """() => {
  window.__ws = {messages: 0, chars: 0, last: 0};
  document.body.addEventListener('htmx:wsAfterMessage', (e) => {
    window.__ws.messages += 1; window.__ws.chars += e.detail.message.length; window.__ws.last = Date.now();
  });
}"""


@dataclass
class Screen:
    kind: str  # "dashboard" or "camera"
    path: str
    port: int
    slug: str = ""  # a camera page's camera
    messages: int = 0  # pushes after the snapshot
    bytes: int = 0
    snapshot: bool = False
    close_code: int | None = None
    last_at: float = 0.0  # time.time() of the last push

    def __post_init__(self) -> None:
        self.ready = threading.Event()  # snapshot received, or closed

    def received(self, size: int) -> None:
        if self.snapshot:
            self.messages += 1
            self.bytes += size
            self.last_at = time.time()
        else:
            self.snapshot = True
            self.ready.set()

    def closed(self, code: int | None) -> None:
        self.close_code = code if code is not None else 1006
        self.ready.set()


class LightScreens:
    """WebSocket clients that only read, on one asyncio loop in a thread (autobahn's asyncio client)."""

    def __init__(self, screens: list[Screen], sessions: list[str]) -> None:
        self.screens, self.sessions = screens, sessions
        self.loop = asyncio.new_event_loop()
        self.protocols: list = []
        threading.Thread(target=self.loop.run_forever, name="light-screens", daemon=True).start()

    def open(self, timeout: float = 60) -> None:
        asyncio.run_coroutine_threadsafe(self._connect_all(), self.loop).result(timeout)
        deadline = time.monotonic() + timeout
        for screen in self.screens:
            if not screen.ready.wait(max(0.0, deadline - time.monotonic())) or not screen.snapshot:
                raise RuntimeError(f"{screen.path} on :{screen.port} got no snapshot (closed: {screen.close_code})")

    async def _connect_all(self) -> None:
        from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

        class Reader(WebSocketClientProtocol):
            def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803 (autobahn's names)
                self.factory.screen.received(len(payload))

            def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802, N803
                self.factory.screen.closed(code)

        for screen, session in zip(self.screens, self.sessions):
            origin = f"http://127.0.0.1:{screen.port}"  # the page's own origin (inventory_monitor/ws_origin.py)
            factory = WebSocketClientFactory(f"ws://127.0.0.1:{screen.port}{screen.path}", origin=origin, headers={
                "Cookie": f"sessionid={session}; csrftoken={secrets.token_hex(16)}"})
            factory.protocol, factory.screen = Reader, screen
            _, protocol = await self.loop.create_connection(factory, "127.0.0.1", screen.port)
            self.protocols.append(protocol)

    def counts(self) -> list[tuple[int, int]]:
        return [(screen.messages, screen.bytes) for screen in self.screens]

    def close(self) -> None:
        for protocol in self.protocols:
            self.loop.call_soon_threadsafe(protocol.sendClose)
        time.sleep(0.2)
        self.loop.call_soon_threadsafe(self.loop.stop)


class BrowserScreen:
    """A 1920x1080 Chromium dashboard logged in as the viewer, timing the cards of camera `probe`."""

    def __init__(self, playwright, url: str, probe: str) -> None:
        self.browser = live.launch_chromium(playwright)
        self.page = self.browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        live.log_in(self.page, url, "viewer")
        live.wait_live(self.page, timeout=60_000)
        self.page.evaluate(OBSERVER_JS, probe)
        self.page.evaluate(COUNTER_JS)

    def counts(self) -> tuple[int, int]:
        found = self.page.evaluate("() => [window.__ws.messages, window.__ws.chars]")
        return found[0], found[1]

    def last_push(self) -> float:
        """time.time() of the last push the page received (0: none)."""
        return self.page.evaluate("() => window.__ws.last") / 1000

    def updates(self) -> dict[str, dict]:
        """{event id: {t: ms since the epoch, count: shown}} of the probe camera's cards."""
        return self.page.evaluate("() => window.__updates")


def plan_screens(dashboards: int, camera_pages: int, slugs: list[str], ports: list[int],
                 browser: bool) -> list[Screen]:
    """The light screens: dashboards (one fewer when Chromium is one of them), then camera pages of the
    cameras after the probe; screen j on worker j mod W."""
    paths = [("dashboard", "/ws/dashboard/", "")] * (dashboards - browser)
    others = slugs[1:] or slugs
    paths += [("camera", f"/ws/cameras/{others[i % len(others)]}/", others[i % len(others)])
              for i in range(camera_pages)]
    return [Screen(kind, path, ports[j % len(ports)], slug) for j, (kind, path, slug) in enumerate(paths)]


def wait_quiet(screens: LightScreens | None, browser: BrowserScreen | None, limit_s: float) -> float:
    """Wait until no screen has received anything for 1 s (at most limit_s); returns the time.time() of
    the last push any screen received."""
    def total() -> int:
        return sum(m for m, _ in (screens.counts() if screens else [])) + (browser.counts()[0] if browser else 0)

    last, quiet_since, deadline = total(), time.perf_counter(), time.perf_counter() + limit_s
    while time.perf_counter() < deadline and time.perf_counter() - quiet_since < 1.0:
        time.sleep(0.25)
        if (now := total()) != last:
            last, quiet_since = now, time.perf_counter()
    light = max((screen.last_at for screen in screens.screens), default=0.0) if screens else 0.0
    return max(light, browser.last_push() if browser else 0.0)
