"""Webhooks through the outbox, against a real HTTP server on this machine: payloads, signature,
failures and retries, timeouts, and the addresses an admin must not be able to point the server at."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from detection.alerts import alerts_deliver_due, flush_alerts
from detection.alerts.models import AlertDelivery, AlertWebhook
from detection.alerts.webhooks import WebhookRefused, webhook_post
from detection.ingest.services import frame_record
from tests.detection.test_alerts import result

State = AlertDelivery.State


class Receiver:
    """A webhook endpoint: records every request; answers `status` after `delay` seconds."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status, self.delay, self.location = 200, 0.0, ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json(self, index: int = 0) -> dict:
        return json.loads(self.requests[index]["body"])


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def hook(receiver: Receiver, **fields) -> AlertWebhook:
    webhook = AlertWebhook(name="ops", url=f"{receiver.url}/hooks/inventory", **fields)
    webhook.full_clean()  # as the admin form does
    webhook.save()
    return webhook


@pytest.mark.django_db
def test_a_critical_camera_posts_signed_json_with_the_alert_id(receiver, camera_with_key):
    hook(receiver, secret="shh-its-a-secret")
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    assert flush_alerts() == 1
    [request] = receiver.requests
    row = AlertDelivery.objects.get()
    assert request["path"] == "/hooks/inventory"
    body = receiver.json()
    assert body["id"] == row.pk and request["headers"]["X-Inventory-Alert-Id"] == str(row.pk)
    assert (body["camera_slug"], body["previous_status"], body["status"], body["smoothed_count"]) == (
        "dock-1", "WAITING", "CRITICAL", 1)
    assert body["subject"] == "[Inventory] Dock 1: stock CRITICAL (1 left)"
    # The receiver checks the signature with the shared secret, as the README tells it to.
    timestamp = request["headers"]["X-Inventory-Timestamp"]
    expected = hmac.new(b"shh-its-a-secret", timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Inventory-Signature"] == f"sha256={expected}"
    assert row.state == State.SENT and row.channel == "webhook"
    # The log shows which webhook, not its URL: a chat tool's webhook URL is itself a credential.
    assert row.recipients == f"ops ({receiver.url}/…)" and "/hooks/inventory" not in row.recipients


@pytest.mark.django_db
def test_the_chat_style_posts_text_that_slack_teams_and_mattermost_show(receiver, camera_with_key):
    hook(receiver, style="text")
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    flush_alerts()
    body = receiver.json()
    assert list(body) == ["text"]
    assert body["text"].startswith("[Inventory] Dock 1: stock CRITICAL (1 left)\nCamera Dock 1 (dock-1)")
    assert "X-Inventory-Signature" not in receiver.requests[0]["headers"]  # no secret, no signature


@pytest.mark.django_db
def test_each_webhook_gets_only_the_events_it_asked_for(receiver, camera_with_key):
    from detection.stock.offline import cameras_check_offline
    from devices.models import Camera

    hook(receiver, on_stock=False, on_fault=False)  # offline alerts only
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))  # CRITICAL: not for this hook
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now() - timedelta(hours=1))
    cameras_check_offline()
    flush_alerts()
    assert [r["status"] for r in map(json.loads, (q["body"] for q in receiver.requests))] == ["OFFLINE"]


@pytest.mark.django_db
def test_an_error_answer_is_retried_until_the_receiver_takes_it(receiver, camera_with_key):
    hook(receiver)
    receiver.status = 500
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    flush_alerts()
    row = AlertDelivery.objects.get()
    assert row.state == State.PENDING and row.last_error.startswith("WebhookHTTPError: HTTP 500")
    receiver.status = 204
    assert alerts_deliver_due(now=timezone.now() + timedelta(hours=1)) == 1
    row.refresh_from_db()
    assert row.state == State.SENT and len(receiver.requests) == 2
    assert receiver.json(0)["id"] == receiver.json(1)["id"]  # the same alert, recognisably


@pytest.mark.django_db
def test_a_redirect_is_not_followed(receiver, camera_with_key):
    hook(receiver)
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    flush_alerts()
    assert len(receiver.requests) == 1
    assert "HTTP 302" in AlertDelivery.objects.get().last_error


@pytest.mark.django_db
def test_a_receiver_that_hangs_times_out_and_is_retried_later(receiver, camera_with_key, settings):
    settings.WEBHOOK_TIMEOUT_S = 0.3
    hook(receiver)
    receiver.delay = 2
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    began = time.monotonic()
    flush_alerts()
    assert time.monotonic() - began < 1.5
    row = AlertDelivery.objects.get()
    assert row.state == State.PENDING and "timed out" in row.last_error.lower()


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # AWS/GCP/Azure metadata
    "http://[fd00:ec2::254]/latest/meta-data/",  # EC2 metadata over IPv6
    "http://[::ffff:169.254.169.254]/",  # the same, IPv4-mapped
    "http://[fe80::1]/",
])
@pytest.mark.django_db
def test_link_local_and_metadata_addresses_are_refused_on_save_and_on_send(url, settings):
    with pytest.raises(ValidationError, match="link-local or cloud metadata"):
        AlertWebhook(name="x", url=url).full_clean()
    with pytest.raises(WebhookRefused):
        webhook_post(url=url, body=b"{}", alert_id=1)  # refused before any connection
    settings.WEBHOOK_ALLOW_LINK_LOCAL = True  # an engineer's explicit choice, in the environment
    AlertWebhook(name="x", url=url).full_clean()


@pytest.mark.parametrize("url", ["http://2852039166/", "http://0xa9.0xfe.0xa9.0xfe/"])
def test_metadata_addresses_in_numeric_disguise_are_refused_at_send(url):
    # Django's URL field already rejects these on save; the sender resolves them and still refuses.
    with pytest.raises(WebhookRefused, match="resolves to 169.254.169.254"):
        webhook_post(url=url, body=b"{}", alert_id=1)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://127.0.0.1:25/"])
@pytest.mark.django_db
def test_only_http_and_https_urls_are_accepted(url):
    with pytest.raises(ValidationError):
        AlertWebhook(name="x", url=url).full_clean()
    with pytest.raises(WebhookRefused, match="Only http"):
        webhook_post(url=url, body=b"{}", alert_id=1)


@pytest.mark.django_db
def test_a_webhook_whose_address_turned_link_local_is_refused_at_send_and_the_row_says_why(camera_with_key):
    # Saved while it was fine; the stored URL is checked again at every send.
    AlertWebhook.objects.create(name="moved", url="http://169.254.169.254/hook")
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    flush_alerts()
    row = AlertDelivery.objects.get()
    assert row.state == State.PENDING and "WebhookRefused" in row.last_error


def tls_files(tmp_path) -> tuple[str, str, str]:
    """A throwaway CA and a certificate for "localhost" signed by it: (ca.pem, cert.pem, key.pem)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem")]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(map(str, paths))


def test_https_webhooks_check_the_certificate_against_the_name(receiver, tmp_path, monkeypatch):
    # Slack, Teams and most chat tools are https: the pinned-address request must still present the
    # name (SNI) and verify the certificate against it, not against 127.0.0.1.
    import ssl

    ca, cert, key = tls_files(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    port = receiver.server.server_address[1]
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):  # our CA is not trusted yet
        webhook_post(url=f"https://localhost:{port}/hook", body=b"{}", alert_id=7)
    monkeypatch.setenv("SSL_CERT_FILE", ca)  # OpenSSL's default trust store now holds our CA
    webhook_post(url=f"https://localhost:{port}/hook", body=b'{"ok": 1}', alert_id=7)
    assert receiver.requests[-1]["body"] == b'{"ok": 1}'
    assert receiver.requests[-1]["headers"]["Host"] == f"localhost:{port}"
    with pytest.raises(Exception, match="match|mismatch|CERTIFICATE"):  # the certificate is not for 127.0.0.1
        webhook_post(url=f"https://127.0.0.1:{port}/hook", body=b"{}", alert_id=8)

