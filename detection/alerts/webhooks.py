"""Webhook delivery: a POST of the alert to a URL an admin configured (chat tools, ticketing, scripts).

Safety, because an admin-supplied URL is fetched by the server from inside its network:
- only http and https;
- the host is resolved here and every address it resolves to is checked (detection/addresses.py, shared
  with camera pulls): link-local addresses (169.254.0.0/16, fe80::/10, where most cloud metadata services answer) and the other clouds'
  metadata addresses (Alibaba 100.100.100.200, Oracle 192.0.0.192, Azure's wire server
  168.63.129.16, EC2 fd00:ec2::254, GCP fd20:ce::254) are refused unless WEBHOOK_ALLOW_LINK_LOCAL=1,
  so the server cannot be turned into a proxy into its cloud account's credentials. An IPv6 address
  that carries an IPv4 address (IPv4-mapped and -compatible, SIIT, NAT64 64:ff9b::/96 and
  64:ff9b:1::/48, 6to4 2002::/16, Teredo, ISATAP) is refused when the IPv4 address inside is;
- the connection goes to the address that was checked (the Host header and, for https, SNI and the
  certificate check use the name), so a DNS answer that changes between check and connect
  (DNS rebinding) cannot send it elsewhere;
- redirects are not followed (a 3xx is a failed delivery), and connect/read time out after
  WEBHOOK_TIMEOUT_S.

Payloads: "json" (the alert's fields, its id and the rendered text) or "text" ({"text": ...}, which
Slack, Mattermost and Microsoft Teams incoming webhooks accept). With a secret, the request carries
X-Inventory-Timestamp and X-Inventory-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>").
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError

from detection.addresses import is_link_local_or_metadata
from detection.alerts.messages import StockAlert

logger = logging.getLogger(__name__)

ALERT_ID_HEADER = "X-Inventory-Alert-Id"
SIGNATURE_HEADER = "X-Inventory-Signature"
TIMESTAMP_HEADER = "X-Inventory-Timestamp"


# The address guard lives in detection/addresses.py (camera pulls use it too); kept under its old name here.
_blocked = is_link_local_or_metadata


class WebhookRefused(ValueError):
    """The URL is not one the server may call."""


class WebhookHTTPError(RuntimeError):
    """The receiver answered with a status other than 2xx. The message (stored in the alert log) names
    the status and host only; the answer's body goes to the server log, never into the exception."""

    def __init__(self, status: int, host: str) -> None:
        super().__init__(f"HTTP {status} from {host}")
        self.status = status


class WebhookUnresolvable(WebhookRefused):
    """The host does not resolve (now): refused at send time, retried later."""


def url_check(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL the server may call; raises WebhookRefused otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("Only http:// and https:// webhook URLs are allowed.")
    if not parts.hostname:
        raise WebhookRefused("The webhook URL has no host.")
    if parts.username or parts.password:
        raise WebhookRefused("Put credentials in the secret, not in the URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookRefused(f"Bad port: {exc}") from None
    return parts.scheme, parts.hostname, port


def resolve_allowed(host: str, port: int) -> str:
    """The first address of `host` after checking all of them; raises WebhookRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookUnresolvable(f"Cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_LINK_LOCAL:
        for address in addresses:
            if _blocked(address):
                raise WebhookRefused(f"{host} resolves to {address}, a link-local or cloud metadata address; "
                                     "set WEBHOOK_ALLOW_LINK_LOCAL=1 to allow it.")
    return str(addresses[0])


def url_validate(url: str) -> None:
    """For the admin form: the same checks as at send time (the address is checked again then)."""
    try:
        _, host, port = url_check(url)
        literal = _literal(host)
        if literal is not None and _blocked(literal) and not settings.WEBHOOK_ALLOW_LINK_LOCAL:
            raise WebhookRefused(f"{host} is a link-local or cloud metadata address; set "
                                 "WEBHOOK_ALLOW_LINK_LOCAL=1 to allow it.")
        if literal is None:  # a name, or a number such as 2852039166 that resolves to an address
            try:
                resolve_allowed(host, port)
            except WebhookUnresolvable:
                pass  # DNS may be down or split here; the address is checked at every send anyway
    except WebhookRefused as exc:
        raise ValidationError(str(exc)) from None


def _literal(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def payload(*, alert: StockAlert, alert_id: int, style: str) -> bytes:
    if style == "text":
        return json.dumps({"text": f"{alert.subject()}\n{alert.body()}Alert id: {alert_id}"}).encode()
    return json.dumps({"id": alert_id, "kind": alert.kind, "subject": alert.subject(), "text": alert.body(),
                       "url": alert.url, **alert.as_dict()}).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_post(*, url: str, body: bytes, alert_id: int, secret: str = "") -> None:
    """POST to the checked address; raises on refusal, timeout, connection error or a non-2xx answer."""
    scheme, host, port = url_check(url)
    address = resolve_allowed(host, port)
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "smart-inventory-monitor",
               ALERT_ID_HEADER: str(alert_id), TIMESTAMP_HEADER: timestamp,
               "Host": host if port in (80, 443) else f"{host}:{port}"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_TIMEOUT_S, read=settings.WEBHOOK_TIMEOUT_S)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, server_hostname=host,
                                           assert_hostname=host, cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    path = urlsplit(url)._replace(scheme="", netloc="").geturl() or "/"
    try:
        response = pool.urlopen("POST", path, body=body, headers=headers, redirect=False, preload_content=True)
    finally:
        pool.close()
    if not 200 <= response.status < 300:
        # The answer's body stays in the server log (admins): the alert log shows the reason to every
        # dashboard role, and an internal service's answer is not theirs to read.
        logger.warning("webhook %s answered HTTP %d: %r", host, response.status, response.data[:200])
        raise WebhookHTTPError(response.status, host)
