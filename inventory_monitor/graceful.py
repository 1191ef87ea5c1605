"""Graceful shutdown of a Daphne worker on SIGTERM (ECS deploys, `docker stop`) or SIGINT (Ctrl-C).

Daphne's own answer to the signal is to cancel every running request at once. Django's request
threads carry on regardless, so a frame could be committed after its camera's connection was cut,
and a thread that then broadcast to the dashboards waited forever on the stopped event loop, which
kept the process alive until SIGKILL. Instead, on the first signal the worker

1. stops accepting: its listening sockets close (the load balancer, or the camera's retry, goes
   elsewhere); idle keep-alive connections close; a request that still arrives on an open
   connection gets a JSON 503 with Retry-After (request_gate.py); dashboards' WebSockets close with
   1001 "going away" (the page reconnects);
2. stops its background work (the offline watch, the dynamic DNS updater);
3. lets the requests it has accepted (headers read) finish, until TEARDOWN_RESERVE_S before the end
   of SHUTDOWN_DRAIN_S; their answers carry Connection: close;
4. sends the dashboard updates still queued and stops its alert sender (a send under way may
   finish in half of what is left; alerts not yet sent stay in the database's outbox, and the next
   worker to start, or any other one running, sends them);
5. cancels whatever still runs, and exits with status 0, within SHUTDOWN_DRAIN_S.

A watchdog ends the process (status 1) FORCE_EXIT_GRACE_S after the drain time if something still
holds it (a thread stuck in a slow SMTP send, say); a second signal ends it at once (status 1).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
import weakref

from inventory_monitor import metrics
from inventory_monitor.request_gate import IN_FLIGHT

logger = logging.getLogger(__name__)

draining = threading.Event()  # set on the first signal; the request gate answers 503 from then on
FORCE_EXIT_GRACE_S = 5.0
# The end of SHUTDOWN_DRAIN_S is kept for what follows the requests: queued broadcasts and alerts,
# cancelling, and the interpreter's own exit (0.65 s measured on a busy 2-core box), so that the
# process is gone within SHUTDOWN_DRAIN_S even when a request has to be cut off.
TEARDOWN_RESERVE_S = 1.5
POLL_S = 0.02

_listening_ports: list = []
_http_channels: weakref.WeakSet = weakref.WeakSet()


def install(*, drain_s: int) -> None:
    """Replace Daphne's shutdown (cancel everything) with the drain above; a no-op under other servers."""
    try:
        from daphne.http_protocol import HTTPFactory
        from daphne.server import Server
    except ImportError:
        return
    already = getattr(Server, "_drain_s", None) is not None
    Server._drain_s = drain_s
    if already:
        return
    listen_success, build_protocol = Server.listen_success, HTTPFactory.buildProtocol

    def remember_port(self, port):
        _listening_ports.append(port)
        return listen_success(self, port)

    def remember_channel(self, addr):
        protocol = build_protocol(self, addr)
        if protocol is not None:  # Twisted wraps the HTTPChannel (it may switch to HTTP/2 on ALPN)
            _http_channels.add(getattr(protocol, "_channel", protocol))
        return protocol

    Server.listen_success = remember_port
    HTTPFactory.buildProtocol = remember_channel
    # Daphne registers this as its "before shutdown" trigger; Twisted waits for the Deferred it returns.
    Server.kill_all_applications = shutdown


def shutdown(server):
    from twisted.internet import defer

    started = time.monotonic()
    drain_s = server._drain_s
    draining.set()
    _arm_watchdog(drain_s + FORCE_EXIT_GRACE_S)
    _exit_on_second_signal()
    logger.warning("shutting down: accepting no more requests; waiting up to %s s for %d in flight",
                   drain_s, len(in_flight(server)))
    for step in (_stop_listening, _stop_background_work, lambda: _close_websockets(server), _close_idle_connections):
        try:
            step()
        except Exception:  # one step failing must not skip the drain
            logger.exception("shutdown step %s failed", getattr(step, "__name__", step))
    drained = defer.Deferred.fromFuture(asyncio.ensure_future(_drain(server, started, started + drain_s)))
    drained.addErrback(lambda failure: logger.error("shutdown drain failed: %s", failure.getTraceback()))
    drained.addCallback(lambda _: _cancel_leftovers(server))
    return drained


def in_flight(server) -> list:
    """HTTP requests accepted (headers read, not refused) and not yet answered, or still running."""
    from daphne.http_protocol import WebRequest

    busy = []
    for protocol, details in list(server.connections.items()):
        if not isinstance(protocol, WebRequest):
            continue
        application = details.get("application_instance")
        answered = "disconnected" in details
        if (application is not None and not application.done()) or (
                not answered and getattr(protocol, "_gate_state", None) in IN_FLIGHT):
            busy.append(protocol)
    return busy


async def _drain(server, started: float, deadline: float) -> None:
    from dashboard.broadcasts import flush_pending
    from detection.alerts import alerts_drain

    reserve = min(TEARDOWN_RESERVE_S, (deadline - started) / 2)
    while in_flight(server) and time.monotonic() < deadline - reserve:
        await asyncio.sleep(POLL_S)
    cut_off = len(in_flight(server))
    flushed_by = deadline - reserve / 2
    unsent = await flush_pending(timeout=max(0.0, flushed_by - time.monotonic()))
    loop = asyncio.get_running_loop()
    pending = await loop.run_in_executor(None, alerts_drain, max(0.0, flushed_by - time.monotonic()))
    metrics.process_exiting()  # its WebSocket count leaves the shared metrics with it
    log = logger.warning if cut_off or unsent else logger.info
    log("drained in %.2f s: %d requests still running at the deadline, %d dashboard updates unsent, "
        "%d alerts pending in the database for the next worker", time.monotonic() - started, cut_off, unsent,
        pending)


def _cancel_leftovers(server):
    from twisted.internet import defer

    leftovers = []
    for details in list(server.connections.values()):
        application = details.get("application_instance")
        if application is not None and not application.done():
            application.cancel()
            leftovers.append(application)
    if not leftovers:
        return None
    logger.info("cancelled %d application instances (closed WebSockets, requests past the deadline)", len(leftovers))
    return defer.Deferred.fromFuture(asyncio.gather(*leftovers, return_exceptions=True))


def _stop_listening() -> None:
    for port in _listening_ports:
        port.stopListening()


def _stop_background_work() -> None:
    from detection.serving.runtime import stop_model_watch
    from detection.stock.frames import stop_frame_sweep
    from detection.stock.offline import stop_offline_watch
    from inventory_monitor.dyndns import stop_dyndns
    from inventory_monitor.memory import trim_loop

    stop_offline_watch()
    stop_frame_sweep()
    stop_model_watch()
    stop_dyndns()
    trim_loop.stop()


def _close_websockets(server) -> None:
    from daphne.ws_protocol import WebSocketProtocol

    for protocol in list(server.connections):
        if isinstance(protocol, WebSocketProtocol):
            try:
                # 1001 "going away": the page reconnects (elsewhere). Autobahn's sendClose() takes only
                # application codes (1000, 3000-4999); the frame-level call takes the protocol's own.
                protocol.sendCloseFrame(code=1001)
            except Exception:  # a socket mid-handshake or already closing
                logger.debug("could not close %r", protocol, exc_info=True)


def _close_idle_connections() -> None:
    """Close keep-alive connections between requests; busy ones close after their answer."""
    for channel in list(_http_channels):
        if channel.transport is None or not getattr(channel.transport, "connected", False):
            continue
        if not channel.requests:
            channel.transport.loseConnection()
            continue
        channel.persistent = False
        for request in channel.requests:
            if not request.startedWriting:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])


def _arm_watchdog(after_s: float) -> None:
    def fire() -> None:
        logger.error("still running %.0f s after the shutdown signal; exiting now", after_s)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(after_s, fire)
    timer.daemon = True
    timer.start()


def _exit_on_second_signal() -> None:
    def now(signum, frame) -> None:
        logger.error("second %s during shutdown: exiting without waiting", signal.Signals(signum).name)
        logging.shutdown()
        os._exit(1)

    try:
        signal.signal(signal.SIGTERM, now)
        signal.signal(signal.SIGINT, now)
    except ValueError:  # not the main thread (a server run inside tests): no signals to take over
        pass
