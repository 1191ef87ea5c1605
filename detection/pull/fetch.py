"""One frame from a camera: an HTTP(S) snapshot or the newest frame of an RTSP stream.

Everything here fails with PullFailed, whose text says what went wrong in words a depot manager can act
on ("the camera refused the user name or password (HTTP 401)") and never contains the password or
the URL's user-info. Bounded in time (the source's timeout, for the whole pull, redirects included)
and in bytes (INGEST_MAX_BYTES, the same limit as a posted frame). Addresses are checked with
detection/addresses.py before connecting and the connection goes to the checked address (HTTP pins it in
the connection pool, RTSP puts it in the URL), so a DNS answer that changes in between cannot redirect
the pull; redirects are followed by hand, each hop checked, and credentials go only to the first origin.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

from detection.addresses import AddressRefused, AddressUnresolvable, resolve_checked

# RTSP over TCP: works through NAT and firewalls, no lost UDP packets turning into grey smears.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


class PullFailed(Exception):
    """No frame; ``str()`` is the reason in words, ``code`` a short label for metrics."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class Target:
    """What to fetch, with the password decrypted (kept in memory only for the pull)."""

    kind: str  # "http" or "rtsp"
    url: str
    auth: str = "none"  # "none", "basic", "digest" (HTTP)
    username: str = ""
    password: str = ""
    timeout_s: float = 5
    tls_verify: bool = True

    def __repr__(self) -> str:  # never the password, in tracebacks or logs
        return f"Target(kind={self.kind!r}, url={self.url!r}, auth={self.auth!r})"


def frame_fetch(target: Target) -> bytes:
    """The camera's current frame as JPEG/PNG/WebP bytes; raises PullFailed."""
    if target.kind == "rtsp":
        return _rtsp_fetch(target)
    # Here, not at start-up: requests with its charset detection is 4.3 MB of every worker's memory,
    # for what only pullers and a manager's "Test connection" use (issue 18, README "Performance").
    from detection.pull.snapshot import http_fetch  # noqa: PLC0415

    return http_fetch(target)


def checked_address(host: str, port: int) -> str:
    """The address to connect to, after the checks; PullFailed with the reason otherwise."""
    try:
        return resolve_checked(host, port, allow_link_local=False, allow_loopback=settings.CAMERA_PULL_ALLOW_LOOPBACK)
    except AddressUnresolvable:
        raise PullFailed(f"The camera's address {host} does not resolve (check the host name).", "unresolvable") from None
    except AddressRefused as exc:
        hint = " (set CAMERA_PULL_ALLOW_LOOPBACK=1 for a camera on this machine)" if "loopback" in str(exc) else ""
        raise PullFailed(f"Refused: {exc}; cameras must be on the network, not at such an address{hint}.",
                         "address") from None


def looks_like_image(data: bytes) -> bool:
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


# --- RTSP -------------------------------------------------------------------------------------------

def rtsp_url_with_address(target: Target) -> str:
    """The stream's URL with the checked address for its host and the credentials in its user-info."""
    parts = urlsplit(target.url)
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        raise PullFailed("The stream URL must look like rtsp://host:554/path.", "url")
    try:
        port = parts.port or (322 if parts.scheme == "rtsps" else 554)
    except ValueError:
        raise PullFailed("The stream URL has a bad port.", "url") from None
    address = checked_address(parts.hostname, port)
    host = f"[{address}]" if ":" in address else address
    userinfo = ""
    if target.username:
        userinfo = quote(target.username, safe="") + (":" + quote(target.password, safe="") if target.password else "") + "@"
    return urlunsplit((parts.scheme, f"{userinfo}{host}:{port}", parts.path, parts.query, ""))


def _rtsp_fetch(target: Target) -> bytes:
    import cv2  # noqa: PLC0415  (only pullers with RTSP cameras pay for it)

    url = rtsp_url_with_address(target)
    ms = int(target.timeout_s * 1000)
    deadline = time.monotonic() + target.timeout_s
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                                     cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    try:
        if not capture.isOpened():
            raise PullFailed("The RTSP stream could not be opened (refused, wrong path, wrong user name or "
                             "password, or no answer in time).", "stream")
        # A fresh connection starts at the live edge (no buffered backlog); the first frames after
        # connecting can be incomplete until a keyframe, so take the second when it comes in time.
        frame = None
        for _ in range(2):
            ok, image = capture.read()
            if ok and image is not None:
                frame = image
            if time.monotonic() > deadline:
                break
        if frame is None:
            raise PullFailed("The RTSP stream opened but sent no frame in time (it stalled).", "timeout")
        ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise PullFailed("The RTSP frame could not be encoded.", "stream")
        return encoded.tobytes()
    finally:
        capture.release()
