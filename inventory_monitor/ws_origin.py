"""WebSocket origin check: the page that opens a socket must be served by this very site.

Channels' AllowedHostsOriginValidator compares only the Origin's host name with ALLOWED_HOSTS, so a
page on another port of the same host (http://localhost:9999, any other app there) could open a
socket with the user's cookies. Here the Origin must also name the port the request came to: the
same host and port as the Host header (a Host without a port means the Origin scheme's default
port, as behind a TLS-terminating load balancer), with the host in ALLOWED_HOSTS; or be listed
exactly in CSRF_TRUSTED_ORIGINS (scheme, host and port), as Django's own CSRF check allows.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _headers(scope) -> dict[bytes, str]:
    found = {}
    for name, value in scope.get("headers", []):
        if name in (b"origin", b"host"):
            found[name] = value.decode("latin1")
    return found


def origin_allowed(scope) -> bool:
    headers = _headers(scope)
    origin, host_header = headers.get(b"origin", ""), headers.get(b"host", "")
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    if not parts.hostname or parts.scheme not in ("http", "https") or origin_port is None:
        return False
    if any(origin.lower() == trusted.lower().rstrip("/") for trusted in settings.CSRF_TRUSTED_ORIGINS):
        return True
    host, port = split_domain_port(host_header)
    if not host:
        return False
    allowed_hosts = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    request_port = int(port) if port else DEFAULT_PORTS[parts.scheme]
    origin_host = parts.hostname.lower()
    same_host = host.strip("[]").lower() == origin_host.strip("[]")
    return same_host and request_port == origin_port and validate_host(host, allowed_hosts)


class SameOriginValidator:
    """ASGI middleware for websockets: refuse (403 at the handshake) a socket from another origin."""

    def __init__(self, application) -> None:
        # Channels' check first (host in ALLOWED_HOSTS), then the port and the Host header match.
        self.application = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
