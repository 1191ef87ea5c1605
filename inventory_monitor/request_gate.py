"""Answer a request from its headers when its body must not be read: the server side of the upload limits.

Daphne (on Twisted) receives a request's whole body before it calls the ASGI application, so a
check in Django, DRF or any ASGI middleware comes after the bytes are in: a 1 GiB POST with no key
was answered 401 after 7.4 s and left the worker 800 MB larger. Twisted's ``Request.gotLength`` is
the one place that runs after the headers and before the first body byte. This module hooks Daphne's
``WebRequest`` there (as daphne_tweaks does for form parsing) and answers at once when

- the declared body is larger than REQUEST_MAX_BYTES (413), or a chunked body passes that limit
  while it streams (413; it is counted chunk by chunk and nothing past the limit is kept);
- a camera call (frames, heartbeat) carries no usable device key (401 with WWW-Authenticate). A key
  not seen lately is looked up in a worker thread while the connection is paused, so no body byte
  is read meanwhile and the event loop never waits on the database; keys that passed are
  remembered for KEY_TTL_S, so a camera's frames pay no extra lookup. DRF still authenticates every
  request it gets: the gate only decides whether a body is worth reading;
- the worker is shutting down (503 with Retry-After; inventory_monitor/graceful.py).

Memory per request is bounded by the limit: a body over 2 MiB is kept in a temporary file
(daphne_tweaks.py), and a body is never larger than REQUEST_MAX_BYTES. A chunked body within the limit is handed on
with a Content-Length, which Django's multipart parser needs (without one it saw no file at all).

A refused connection is half-closed: the answer goes out, and whatever the client still sends is
read and dropped for LINGER_S, so that a client that writes its whole body before reading (most
HTTP libraries) gets the answer rather than a reset; then the connection is closed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

from django.db import close_old_connections
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated

from devices.authentication import INVALID_KEY, WWW_AUTHENTICATE, bearer_key
from devices.models import DeviceKey
from devices.services import device_key_authenticate

logger = logging.getLogger(__name__)

KEY_TTL_S = 60.0  # how long a key that passed the gate skips the lookup (revoked keys: DRF still says 401)
KEY_CACHE_MAX = 10_000
LINGER_S = 2.0  # how long a refused client may go on sending (dropped) before the connection closes

# A request's state at the gate (attribute `_gate_state` on Daphne's WebRequest).
ACCEPTED, PENDING, REFUSED = "accepted", "pending", "refused"
IN_FLIGHT = frozenset({ACCEPTED, PENDING})  # counted by the graceful shutdown's drain


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> bytes:
        """A complete HTTP/1.1 answer with a JSON body; the connection closes after it."""
        body = json.dumps({"detail": self.detail}).encode()
        lines = [f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}", "Content-Type: application/json",
                 f"Content-Length: {len(body)}", "Connection: close", *(f"{k}: {v}" for k, v in self.headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


SHUTTING_DOWN = Refusal(503, "The server is shutting down; retry in a moment.", (("Retry-After", "1"),))


class Gate:
    """The policy, without Twisted: what to do with a request whose headers are in."""

    def __init__(self, *, max_bytes: int, camera_paths: set[str], draining: threading.Event,
                 lookup_key: Callable[[str], bool]) -> None:
        self.max_bytes = max_bytes
        self.camera_paths = {path.rstrip("/") for path in camera_paths}
        self.draining = draining
        self._lookup_key = lookup_key
        self._passed: dict[bytes, float] = {}  # sha256(key) -> monotonic expiry
        # Key lookups only; two threads are plenty (a lookup is one indexed query).
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="request-gate")

    def judge(self, *, path: str, authorization: bytes | None, length: int | None) -> Refusal | str | None:
        """A Refusal to answer now; a device key (str) to look up before the body is read; or None: read on.

        ``length`` is the Content-Length, None for a chunked body.
        """
        if self.draining.is_set():
            return SHUTTING_DOWN
        if length != 0 and path.rstrip("/") in self.camera_paths:
            # The key first, as DRF does (a keyless upload is a 401 whatever its size).
            unauthorized = (("WWW-Authenticate", WWW_AUTHENTICATE),)
            try:
                raw_key = bearer_key(authorization or b"")
            except AuthenticationFailed as exc:
                return Refusal(401, str(exc.detail), unauthorized)
            if raw_key is None:
                return Refusal(401, str(NotAuthenticated.default_detail), unauthorized)
            if DeviceKey.prefix_of(raw_key) is None:
                return Refusal(401, INVALID_KEY, unauthorized)
            if self._passed.get(_digest(raw_key), 0.0) <= time.monotonic():
                return raw_key  # then size_refusal(), once the key has passed
        return self.size_refusal(length)

    def size_refusal(self, length: int | None) -> Refusal | None:
        if length is not None and length > self.max_bytes:
            return self.too_large(f"The request body is {length:,} bytes")
        return None

    def too_large(self, what: str) -> Refusal:
        return Refusal(413, f"{what}; requests are limited to {self.max_bytes:,} bytes.")

    def invalid_key(self) -> Refusal:
        return Refusal(401, INVALID_KEY, (("WWW-Authenticate", WWW_AUTHENTICATE),))

    def check_key(self, raw_key: str) -> Future:
        """Look the key up in a worker thread; the future's result says whether it is usable."""
        return self._executor.submit(self._check, raw_key)

    def _check(self, raw_key: str) -> bool:
        usable = self._lookup_key(raw_key)
        if usable:
            if len(self._passed) >= KEY_CACHE_MAX:
                self._passed.clear()
            self._passed[_digest(raw_key)] = time.monotonic() + KEY_TTL_S
        return usable


def _digest(raw_key: str) -> bytes:
    return hashlib.sha256(raw_key.encode()).digest()


def key_is_usable(raw_key: str) -> bool:
    """The gate's database lookup (run in its worker threads, never on the event loop)."""
    try:
        return device_key_authenticate(raw_key) is not None
    finally:
        close_old_connections()  # this thread is not a request: give the connection back


# --- Daphne/Twisted ---------------------------------------------------------------------------


def install(*, max_bytes: int, draining: threading.Event) -> None:
    """Hook the gate into Daphne's WebRequest (once per process; a no-op under other servers)."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:
        return
    gate = Gate(max_bytes=max_bytes, camera_paths={reverse("api-frames"), reverse("api-heartbeat")},
                draining=draining, lookup_key=key_is_usable)
    if getattr(WebRequest, "_gate", None) is not None:
        WebRequest._gate = gate  # already hooked: new settings only
        return
    WebRequest._gate = gate
    got_length, handle_chunk, process = WebRequest.gotLength, WebRequest.handleContentChunk, WebRequest.process

    def gotLength(self, length):  # noqa: N802 (Twisted's name)
        got_length(self, length)
        _judge(self, length)

    def handleContentChunk(self, data):  # noqa: N802
        if getattr(self, "_gate_state", ACCEPTED) == REFUSED:
            return
        self._gate_received += len(data)
        if self._gate_received > self._gate.max_bytes:
            _refuse(self, self._gate.too_large("The request body passed the limit while streaming"))
            return
        handle_chunk(self, data)

    def gate_process(self):
        state = getattr(self, "_gate_state", ACCEPTED)
        if state == REFUSED:
            return None
        if state == PENDING:  # the whole body came in before the key lookup answered
            self._gate_process_waiting = True
            return None
        _declare_chunked_length(self)
        return process(self)

    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.process = gate_process


def _judge(request, length: int | None) -> None:
    request._gate_state = ACCEPTED
    request._gate_length = length
    request._gate_received = 0
    request._gate_process_waiting = False
    channel = request.channel
    request._gate_target = (channel._command, channel._path)  # for the log; the channel forgets them
    path = unquote(channel._path.split(b"?", 1)[0].decode("ascii", "replace"))
    authorization = request.requestHeaders.getRawHeaders(b"authorization")
    verdict = request._gate.judge(path=path, authorization=authorization[0] if authorization else None,
                                  length=length)
    if verdict is None:
        return
    if isinstance(verdict, Refusal):
        _refuse(request, verdict)
        return
    # A key to look up: read nothing more from this connection until it is answered. Twisted would
    # answer "Expect: 100-continue" right after this method; that waits for the key too.
    request._gate_state = PENDING
    request._gate_expects_continue = bool(request.requestHeaders.getRawHeaders(b"expect"))
    request.requestHeaders.removeHeader(b"expect")
    channel._networkProducer.pauseProducing()
    from twisted.internet import reactor

    lookup = request._gate.check_key(verdict)
    lookup.add_done_callback(lambda future: reactor.callFromThread(_key_checked, request, future))


def _key_checked(request, future: Future) -> None:
    if request._gate_state != PENDING or request.channel is None:  # refused meanwhile, or the client left
        return
    try:
        usable = future.result()
    except Exception:  # the database is down: let the request through, Django answers it as it can
        logger.exception("device key lookup failed; passing the request on")
        usable = True
    refusal = request._gate.size_refusal(request._gate_length) if usable else request._gate.invalid_key()
    if refusal is not None:
        _refuse(request, refusal)
        return
    request._gate_state = ACCEPTED
    channel = request.channel
    if request._gate_expects_continue and not request._gate_received:
        channel._send100Continue()
    channel._networkProducer.resumeProducing()
    if request._gate_process_waiting:
        request.process()


def _refuse(request, refusal: Refusal) -> None:
    request._gate_state = REFUSED
    channel = request.channel
    if channel is None or channel.transport is None:
        return
    method, target = request._gate_target
    client = channel.transport.getPeer()
    logger.info("%s %s from %s: %d before its body was read (%s)", method.decode("ascii", "replace"),
                target.decode("ascii", "replace")[:200], getattr(client, "host", client), refusal.status,
                refusal.detail)
    request.requestHeaders.removeHeader(b"expect")  # no "100 Continue" after a final answer
    channel.persistent = False
    # From now on every byte on this connection is dropped unparsed (Twisted does the same for data
    # sent after a non-persistent request); instance attributes shadow the channel's methods.
    channel.dataReceived = channel.rawDataReceived = channel.lineReceived = _drop
    transport = channel.transport
    transport.write(refusal.response())
    channel._networkProducer.resumeProducing()  # keep reading (and dropping) while the client sends
    if hasattr(transport, "loseWriteConnection"):
        transport.loseWriteConnection()
        from twisted.internet import reactor

        reactor.callLater(LINGER_S, _close, transport)
    else:
        transport.loseConnection()


def _drop(*args) -> None:
    return None


def _close(transport) -> None:
    if transport.connected:
        transport.loseConnection()


def _declare_chunked_length(request) -> None:
    """The body has been de-chunked into Twisted's content file: tell Django its length."""
    encoding = request.requestHeaders.getRawHeaders(b"transfer-encoding")
    if encoding and encoding[-1].strip().lower() == b"chunked":
        request.requestHeaders.removeHeader(b"transfer-encoding")
        request.requestHeaders.setRawHeaders(b"content-length", [str(request._gate_received).encode()])
