"""Webhooks, round two: every IPv6 form of a metadata address and other clouds' metadata addresses
are refused (verdicts only: no request leaves), and a receiver's error answer is never shown on the
alert log that every dashboard role reads."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from detection.alerts import flush_alerts
from detection.alerts.models import AlertDelivery, AlertWebhook
from detection.alerts.webhooks import WebhookRefused, _blocked, resolve_allowed, url_validate
from detection.ingest.services import frame_record
from tests.detection.test_alerts import result
from tests.roles import role_group

REFUSED = [
    "::169.254.169.254",  # IPv4-compatible
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:169.254.169.254",  # SIIT IPv4-translated
    "64:ff9b::a9fe:a9fe",  # NAT64, well-known prefix
    "64:ff9b:1:a9fe:a9:fe00::",  # NAT64 local-use, /48 prefix (RFC 6052: u-octet skipped)
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use, /96 prefix
    "2002:a9fe:a9fe::",  # 6to4
    "2002:a9fe:a9fe:1::1",
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254 obfuscated (XOR)
    "2001:db8::5efe:a9fe:a9fe",  # ISATAP
    "fe80::1",
    "fd00:ec2::254",  # AWS IPv6 metadata
    "fd20:ce::254",  # GCP IPv6 metadata
    "169.254.169.254",
    "169.254.0.23",  # Tencent
    "169.254.170.2",  # ECS task credentials
    "100.100.100.200",  # Alibaba
    "::ffff:100.100.100.200",
    "64:ff9b::6464:64c8",  # Alibaba through NAT64
    "192.0.0.192",  # Oracle
    "168.63.129.16",  # Azure wire server
]
ALLOWED = ["127.0.0.1", "::1", "10.0.0.5", "192.0.2.10", "2001:db8::1", "64:ff9b::c000:20a", "2002:c000:20a::",
           "100.100.100.201", "::ffff:10.1.2.3"]


@pytest.mark.parametrize("address", REFUSED)
def test_metadata_addresses_in_every_form_are_refused(address, settings):
    settings.WEBHOOK_ALLOW_LINK_LOCAL = False
    assert _blocked(ipaddress.ip_address(address))
    with pytest.raises(ValidationError, match="link-local or cloud metadata"):
        url_validate(f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook")
    with pytest.raises(WebhookRefused):
        resolve_allowed(address, 80)  # the send-time check: a literal, so no DNS and no connection


@pytest.mark.parametrize("address", ALLOWED)
def test_ordinary_addresses_are_allowed(address):
    # The verdict only: nothing is sent to these.
    assert not _blocked(ipaddress.ip_address(address))


class SecretTeller:
    """An internal service behind the webhook URL: a 500 whose body tells things."""

    BODY = b"db password is hunter2; internal host db-7.corp"

    def __init__(self) -> None:
        body = self.BODY

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.django_db
def test_an_operator_never_sees_what_the_receiver_answered(client, django_user_model, camera_with_key):
    teller = SecretTeller()
    try:
        AlertWebhook.objects.create(name="internal", url=teller.url)
        camera, _ = camera_with_key()
        frame_record(camera=camera, result=result(1))
        flush_alerts()
    finally:
        teller.server.shutdown()
        teller.server.server_close()
    row = AlertDelivery.objects.get()
    assert row.last_error.startswith("WebhookHTTPError: HTTP 500 from 127.0.0.1")
    assert b"hunter2" not in row.last_error.encode()
    operator = django_user_model.objects.create_user("otto", password="x")
    operator.groups.add(role_group("Operators"))
    client.force_login(operator)
    page = client.get("/alerts/")
    assert page.status_code == 200 and b"HTTP 500" in page.content
    assert b"hunter2" not in page.content and b"db-7.corp" not in page.content
