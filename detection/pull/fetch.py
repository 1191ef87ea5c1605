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
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

from detection.addresses import AddressRefused, AddressUnresolvable, resolve_checked

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
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
    return _http_fetch(target)


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


# --- HTTP(S) snapshots ------------------------------------------------------------------------------

class _PinnedAdapter(HTTPAdapter):
    """Connects to the address checked for each (host, port), keeping the name for Host, SNI and the
    certificate check."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.pins: dict[tuple[str, int], str] = {}

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        parts = urlsplit(request.url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        address = self.pins.get((host, port))
        if address is None:  # only URLs this module checked are ever sent
            raise PullFailed("Internal error: an unchecked address.", "address")
        host_params["host"], host_params["port"] = address, port
        if parts.scheme == "https":
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host if verify is not False else False
        return host_params, pool_kwargs


def _http_parts(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise PullFailed("The snapshot URL must start with http:// or https://.", "url")
    if not parts.hostname:
        raise PullFailed("The snapshot URL has no host.", "url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PullFailed("The snapshot URL has a bad port.", "url") from None
    return parts.scheme, parts.hostname, port


def _http_auth(target: Target):
    if target.auth == "basic":
        return HTTPBasicAuth(target.username, target.password)
    if target.auth == "digest":
        return HTTPDigestAuth(target.username, target.password)
    return None


def _http_fetch(target: Target) -> bytes:
    deadline = time.monotonic() + target.timeout_s
    url, first_origin = target.url, _http_parts(target.url)
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment: the checked address is the one used
        adapter = _PinnedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        for _hop in range(MAX_REDIRECTS + 1):
            scheme, host, port = _http_parts(url)
            adapter.pins[(host, port)] = checked_address(host, port)
            # Credentials only for the URL the manager typed (its scheme, host and port), never a redirect elsewhere.
            auth = _http_auth(target) if (scheme, host, port) == first_origin else None
            response = _http_get(session, url, auth=auth, deadline=deadline, target=target)
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers["Location"])
                    continue
                return _http_body(response, deadline, timeout_s=target.timeout_s)
    raise PullFailed(f"The camera redirected more than {MAX_REDIRECTS} times.", "redirect")


def _remaining(deadline: float, timeout_s: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise PullFailed(f"The camera did not send a whole picture within {timeout_s:g} s (it stalled).", "timeout")
    return left


def _http_get(session: requests.Session, url: str, *, auth, deadline: float, target: Target) -> requests.Response:
    left = _remaining(deadline, target.timeout_s)
    netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
    headers = {"Host": netloc, "Accept": "image/jpeg, image/png, image/webp, image/*",
               "Accept-Encoding": "identity", "User-Agent": "smart-inventory-monitor"}
    try:
        return session.get(url, auth=auth, headers=headers, stream=True, allow_redirects=False,
                           timeout=(left, left), verify=target.tls_verify)
    except requests.exceptions.SSLError:
        raise PullFailed("The camera's HTTPS certificate is not trusted (self-signed?); use http:// on the "
                         "local network or turn off the certificate check for this camera.", "tls") from None
    except requests.exceptions.Timeout:
        raise PullFailed("The camera did not answer in time (timed out).", "timeout") from None
    except requests.exceptions.ConnectionError as exc:
        text = str(exc).lower()
        if "refused" in text:
            raise PullFailed("The camera refused the connection (nothing listens on that port).", "refused") from None
        if "timed out" in text:
            raise PullFailed("The camera did not answer in time (timed out).", "timeout") from None
        raise PullFailed("The camera could not be reached (network unreachable or connection reset).",
                         "unreachable") from None
    except requests.exceptions.RequestException:
        raise PullFailed("The snapshot URL could not be fetched (bad URL).", "url") from None


def _http_body(response: requests.Response, deadline: float, *, timeout_s: float) -> bytes:
    if response.status_code in (401, 403):
        raise PullFailed(f"The camera refused the user name or password (HTTP {response.status_code}).", "auth")
    if response.status_code != 200:
        raise PullFailed(f"The camera answered HTTP {response.status_code} {response.reason or ''}".rstrip() +
                         " instead of a picture (check the snapshot path).", "http_status")
    limit = settings.INGEST_MAX_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PullFailed(f"The camera's answer is {int(declared):,} bytes; the limit is {limit:,} bytes.", "too_large")
    body = bytearray()
    try:
        while True:
            _remaining(deadline, timeout_s)
            chunk = response.raw.read1(CHUNK)  # whatever has arrived: a trickle still meets the deadline
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise PullFailed(f"The camera sent more than {limit:,} bytes; the limit is {limit:,} bytes.",
                                 "too_large")
    except PullFailed:
        raise
    except Exception:  # urllib3's read timeout or a reset in the middle of the body
        raise PullFailed("The camera stopped sending in the middle of the picture (stalled or disconnected).",
                         "timeout") from None
    data = bytes(body)
    if not looks_like_image(data):
        kind = response.headers.get("Content-Type", "unknown content").split(";")[0]
        raise PullFailed(f"The camera answered with {kind}, not a JPEG, PNG or WebP picture "
                         "(check the snapshot path).", "not_image")
    return data


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
