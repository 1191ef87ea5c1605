"""HTTP(S) snapshots for detection/pull/fetch.py: one GET to the checked address, redirects followed
by hand (each hop checked, credentials only to the first origin), bounded in time and bytes.

Imported by ``frame_fetch`` on the first HTTP pull, so a worker that never pulls does not load
requests.
"""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

from detection.pull.fetch import PullFailed, Target, checked_address, looks_like_image

MAX_REDIRECTS = 3
CHUNK = 64 * 1024


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


def http_fetch(target: Target) -> bytes:
    """The snapshot's bytes; raises PullFailed."""
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
