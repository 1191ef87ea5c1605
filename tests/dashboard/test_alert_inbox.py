"""The alert log as the people on shift use it: dates in the site zone, a warning when nothing is
configured (and what would have been sent), "I'm on it", camera links, and "send a test"."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from detection.alerts import StockAlert, alerts_enqueue
from detection.alerts.models import AlertDelivery, AlertWebhook

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 11, 2, 22, 30, 5, tzinfo=UTC)


def critical(camera) -> list[AlertDelivery]:
    alert = StockAlert(camera_slug=camera.slug, camera_name=camera.name, location="", previous_status="WARNING",
                       status="CRITICAL", smoothed_count=2, critical_level=3, target_capacity=15)
    return alerts_enqueue(camera=camera, alert=alert, now=WHEN)


def test_with_no_channel_the_log_warns_and_shows_what_would_have_been_sent(client, viewer, camera_with_key):
    camera, _ = camera_with_key()
    rows = critical(camera)
    assert [(r.channel, r.state) for r in rows] == [("none", "SKIPPED")]
    client.force_login(viewer)
    page = client.get("/alerts/").content.decode()
    assert 'id="no-channel"' in page and "nothing is being sent" in page
    assert "not sent: no channel configured" in page
    assert "What would have been sent" in page and "stock CRITICAL (2 left)" in page
    assert "No alerts yet." not in page


def test_rows_show_the_date_and_time_in_the_site_zone_and_link_the_camera(client, viewer, camera_with_key, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+5:30: 22:30 UTC is 04:00 the next day
    camera, _ = camera_with_key()
    critical(camera)
    client.force_login(viewer)
    page = client.get("/alerts/").content.decode()
    assert "2026-11-03 04:00:05 IST" in page
    assert 'href="/cameras/dock-1/"' in page
    assert "All times in Asia/Kolkata" in page


def test_im_on_it_marks_every_channel_row_with_who_and_a_note(client, viewer, manager, camera_with_key, settings):
    settings.ALERT_EMAILS = ["shift@example.com"]
    AlertWebhook.objects.create(name="Chat", url="http://127.0.0.1:9/hook")
    camera, _ = camera_with_key()
    first, second = critical(camera)
    client.force_login(viewer)
    response = client.post(f"/alerts/{second.pk}/ack/", {"note": "restocking bay 4"})
    assert response.status_code == 302 and response["Location"].endswith(f"#alert-{second.pk}")
    rows = AlertDelivery.objects.filter(pk__in=[first.pk, second.pk])
    assert {(r.acknowledged_by, r.acknowledged_note) for r in rows} == {(viewer, "restocking bay 4")}
    # A second person does not take it over; they see who is on it.
    client.force_login(manager)
    client.post(f"/alerts/{first.pk}/ack/")
    assert AlertDelivery.objects.get(pk=first.pk).acknowledged_by == viewer
    page = client.get("/alerts/").content.decode()
    assert "✓ olga" in page and "restocking bay 4" in page
    assert client.get("/alerts/", {"show": "open"}).content.decode().count('data-acknowledged="no"') == 0


def test_acknowledging_needs_a_post_and_a_role(client, nobody, viewer, camera_with_key):
    camera, _ = camera_with_key()
    (row,) = critical(camera)
    client.force_login(viewer)
    assert client.get(f"/alerts/{row.pk}/ack/").status_code == 405
    client.force_login(nobody)
    assert client.post(f"/alerts/{row.pk}/ack/").status_code == 403
    assert AlertDelivery.objects.get(pk=row.pk).acknowledged_at is None


class Receiver(BaseHTTPRequestHandler):
    status = 200
    bodies: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        Receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(Receiver.status)
        self.end_headers()
        self.wfile.write(b"token=s3cr3t-internal-detail")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.bodies, Receiver.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_manager_sends_a_test_to_a_webhook_and_sees_it_went_out(client, manager, receiver):
    hook = AlertWebhook.objects.create(name="Night chat", url=f"http://127.0.0.1:{receiver.server_port}/hook")
    client.force_login(manager)
    page = client.get("/alerts/").content.decode()
    assert 'data-action="send-test"' in page and 'id="no-channel"' not in page
    response = client.post("/alerts/test/", {"channel": "webhook", "webhook": hook.pk}, follow=True)
    assert "Test alert sent by Night chat." in response.content.decode()
    assert Receiver.bodies[0]["kind"] == "test" and "sent by mia" in Receiver.bodies[0]["subject"]
    assert AlertDelivery.objects.count() == 0  # a test is not an alert


def test_a_failed_test_says_the_status_but_never_the_receivers_body(client, manager, receiver):
    Receiver.status = 500
    hook = AlertWebhook.objects.create(name="Night chat", url=f"http://127.0.0.1:{receiver.server_port}/hook")
    client.force_login(manager)
    page = client.post("/alerts/test/", {"channel": "webhook", "webhook": hook.pk}, follow=True).content.decode()
    assert "Test alert by Night chat failed: the receiver answered HTTP 500." in page
    assert "s3cr3t" not in page


def test_operators_cannot_send_tests(client, viewer, receiver):
    hook = AlertWebhook.objects.create(name="Night chat", url=f"http://127.0.0.1:{receiver.server_port}/hook")
    client.force_login(viewer)
    assert 'data-action="send-test"' not in client.get("/alerts/").content.decode()
    assert client.post("/alerts/test/", {"channel": "webhook", "webhook": hook.pk}).status_code == 403
    assert Receiver.bodies == []


@pytest.mark.parametrize("webhook", ["abc", "[[0.1,0.1]]", "1.5", "-1", "\u0661", "99999999999999999999999", ""])
def test_a_test_send_with_a_malformed_webhook_id_is_404_not_500(client, manager, webhook):
    """Found by the fuzz (README, Errors): a non-number id used to reach the query and raise ValueError."""
    client.force_login(manager)
    assert client.post("/alerts/test/", {"channel": "webhook", "webhook": webhook}).status_code == 404
