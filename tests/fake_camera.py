"""A fake IP camera on 127.0.0.1: an HTTP snapshot endpoint with digest (or basic) authentication, as
Hikvision/Dahua/Axis cameras offer, plus the ways real cameras misbehave. Tests pick the behaviour
per path:

    /snapshot.jpg      the picture (after digest authentication when the camera has a password)
    /basic.jpg         the picture behind basic authentication
    /stall             headers and half the picture, then silence
    /html              an HTML login page with 200 (a wrong snapshot path on many cameras)
    /huge              declares 2 GB (Content-Length) and starts sending
    /endless           no Content-Length, sends bytes until the client hangs up
    /redirect?to=URL   302 to URL
    /missing           404
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

REALM = "IP Camera"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (RFC 2617 digest, as cameras do)


def _parse_digest(header: str) -> dict[str, str]:
    fields = {}
    for part in header.removeprefix("Digest ").split(","):
        if "=" in part:
            key, value = part.strip().split("=", 1)
            fields[key] = value.strip('"')
    return fields


class FakeCamera:
    def __init__(self, picture: bytes, *, username: str = "admin", password: str = "s3cret!") -> None:
        self.picture = picture
        self.username, self.password = username, password
        self.nonce = secrets.token_hex(8)
        self.requests: list[str] = []  # paths asked for, in order
        self.authorized = 0
        self.stall_s = 30.0
        self.release = threading.Event()  # set on stop: stalled handlers give up
        camera = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                camera.requests.append(self.path)
                camera._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeCamera:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # --- behaviours ---

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        if path == "/snapshot.jpg":
            if self.password and not self._digest_ok(h):
                return self._challenge(h, f'Digest realm="{REALM}", nonce="{self.nonce}", qop="auth", algorithm=MD5')
            return self._send(h, 200, self.picture, "image/jpeg")
        if path == "/basic.jpg":
            import base64

            expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if h.headers.get("Authorization") != expected:
                return self._challenge(h, f'Basic realm="{REALM}"')
            return self._send(h, 200, self.picture, "image/jpeg")
        if path == "/stall":
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(self.picture)))
            h.end_headers()
            h.wfile.write(self.picture[: len(self.picture) // 2])
            h.wfile.flush()
            self.release.wait(self.stall_s)
            return None
        if path == "/html":
            return self._send(h, 200, b"<html><body>Please log in</body></html>", "text/html; charset=utf-8")
        if path in ("/huge", "/endless"):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            if path == "/huge":
                h.send_header("Content-Length", str(2 * 1024**3))
            h.send_header("Connection", "close")
            h.end_headers()
            block = b"\xff\xd8\xff" + bytes(64 * 1024 - 3)
            try:
                for _ in range(2 * 1024**3 // len(block)):
                    if self.release.is_set():
                        break
                    h.wfile.write(block)
            except OSError:
                pass  # the puller hung up: what it should do
            return None
        if path == "/redirect":
            target = parse_qs(parts.query)["to"][0]
            h.send_response(302)
            h.send_header("Location", target)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        return self._send(h, 404, b"not found", "text/plain")

    def _digest_ok(self, h: BaseHTTPRequestHandler) -> bool:
        header = h.headers.get("Authorization", "")
        if not header.startswith("Digest "):
            return False
        f = _parse_digest(header)
        if f.get("username") != self.username or f.get("nonce") != self.nonce:
            return False
        ha1 = _md5(f"{self.username}:{REALM}:{self.password}")
        ha2 = _md5(f"GET:{f.get('uri', '')}")
        expected = _md5(f"{ha1}:{self.nonce}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{ha2}")
        ok = secrets.compare_digest(expected, f.get("response", ""))
        self.authorized += ok
        return ok

    @staticmethod
    def _challenge(h: BaseHTTPRequestHandler, header: str) -> None:
        body = b"401 Unauthorized"
        h.send_response(401)
        h.send_header("WWW-Authenticate", header)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, code: int, body: bytes, content_type: str) -> None:
        h.send_response(code)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def wait_until(predicate, timeout: float = 30, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
