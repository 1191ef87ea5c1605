"""The alert outbox: an alert is a row committed with its frame, delivered once by whichever worker
claims it, retried when the channel fails, and not lost when a worker dies (real SMTP server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.db import connection, transaction
from django.utils import timezone

from detection.alerts import alerts_deliver_due, alerts_drain, flush_alerts, start_alert_sender
from detection.alerts.models import AlertDelivery
from detection.ingest.services import frame_record
from tests.conftest import REPO
from tests.detection.test_alerts import free_port, result, smtp_server  # noqa: F401 - a fixture

State = AlertDelivery.State


def subjects(inbox) -> list[str]:
    return [message_from_bytes(m.content)["Subject"] for m in inbox.messages]


def alert_ids(inbox) -> list[str]:
    return [message_from_bytes(m.content)["X-Inventory-Alert-Id"] for m in inbox.messages]


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def by_mail(smtp_server, settings):  # noqa: F811
    settings.ALERT_EMAILS = ["manager@example.com"]
    return smtp_server


KILLED_WORKER = """
import os, signal
import django
django.setup()
from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record
from devices.models import Camera

camera = Camera.objects.get(slug="dock-1")
frame_record(camera=camera, result=DetectionResult([Detection(1, 1, 9, 9, 0.9, 0)], 640, 480, 5.0))
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # between the commit and any send
"""


def database_env() -> dict[str, str]:
    """Environment for a worker process that uses this test's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(db["NAME"])}
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return {"DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}


@pytest.mark.django_db(transaction=True)
def test_an_alert_committed_by_a_worker_killed_before_sending_goes_out_after_restart(by_mail, camera_with_key,
                                                                                     settings):
    camera_with_key()  # critical 3: the worker's frame of 1 package is CRITICAL
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "inventory_monitor.settings", "DEBUG": "1",
           "ALERT_EMAILS": "manager@example.com", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT),
           "ALERT_SENDER_INTERVAL_S": "0", **database_env()}
    worker = subprocess.run([sys.executable, "-c", KILLED_WORKER], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert worker.returncode == -signal.SIGKILL and "committed" in worker.stdout, worker.stderr
    assert by_mail.messages == []
    [row] = AlertDelivery.objects.all()
    assert row.state == State.PENDING

    # A worker starts (this process): its sender picks up what was pending, without being woken.
    assert start_alert_sender(interval_s=60)
    try:
        assert wait_for(lambda: len(by_mail.messages) == 1)
    finally:
        alerts_drain(timeout=5)
    assert subjects(by_mail) == ["[Inventory] Dock 1: stock CRITICAL (1 left)"]
    assert alert_ids(by_mail) == [str(row.pk)]  # a receiver can drop a repeat by this id
    assert f"Alert id: {row.pk}" in by_mail.messages[0].content.decode()
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.SENT, 1) and row.sent_at is not None


@pytest.mark.django_db
def test_a_rolled_back_frame_leaves_no_alert(by_mail, camera_with_key):
    camera, _ = camera_with_key()
    with pytest.raises(RuntimeError), transaction.atomic():
        frame_record(camera=camera, result=result(1))
        raise RuntimeError("the request failed after the frame")
    assert flush_alerts() == 0 and by_mail.messages == []


@pytest.mark.django_db(transaction=True)
def test_several_workers_racing_send_each_alert_exactly_once(by_mail, camera_with_key, settings):
    settings.ALERT_COOLDOWN_S = 0
    cameras = [camera_with_key(f"dock-{i}")[0] for i in range(6)]
    for camera in cameras:  # each camera: CRITICAL, recovered, CRITICAL = 3 alerts, 18 in all
        for count in (1, 10, 1):
            frame_record(camera=camera, result=result(count))
    assert AlertDelivery.objects.count() == 18
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        try:
            while alerts_deliver_due(limit=5):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = alert_ids(by_mail)
    assert len(ids) == 18 and len(set(ids)) == 18
    assert set(AlertDelivery.objects.values_list("state", "attempts")) == {(State.SENT, 1)}


@pytest.mark.django_db
def test_a_failed_send_is_kept_and_retried_with_back_off_then_given_up(settings, camera_with_key):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.ALERT_EMAILS = ["manager@example.com"]
    settings.ALERT_RETRY_BASE_S, settings.ALERT_MAX_ATTEMPTS = 30, 3
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    now = timezone.now()
    assert alerts_deliver_due(now=now) == 1
    row = AlertDelivery.objects.get()
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=30)
    assert alerts_deliver_due(now=now + timedelta(seconds=29)) == 0  # not before its time
    assert alerts_deliver_due(now=now + timedelta(seconds=30)) == 1
    row.refresh_from_db()
    assert row.attempts == 2 and row.next_attempt_at == now + timedelta(seconds=30 + 60)  # doubled
    assert alerts_deliver_due(now=now + timedelta(seconds=90)) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.FAILED, 3)
    assert alerts_deliver_due(now=now + timedelta(days=1)) == 0


@pytest.mark.django_db
def test_a_retry_reaches_the_mail_server_once_it_is_back(by_mail, settings, camera_with_key):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # down for the first try
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    assert flush_alerts() == 1 and by_mail.messages == []
    settings.EMAIL_PORT = port
    assert alerts_deliver_due(now=timezone.now() + timedelta(seconds=settings.ALERT_RETRY_BASE_S)) == 1
    assert subjects(by_mail) == ["[Inventory] Dock 1: stock CRITICAL (1 left)"]
    assert AlertDelivery.objects.get().state == State.SENT


@pytest.mark.django_db
def test_a_row_left_sending_by_a_dead_worker_is_sent_after_its_claim_expires(by_mail, camera_with_key):
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    now = timezone.now()
    AlertDelivery.objects.update(state=State.SENDING, attempts=1, claimed_until=now + timedelta(seconds=120))
    assert alerts_deliver_due(now=now) == 0  # another worker's claim: hands off
    assert alerts_deliver_due(now=now + timedelta(seconds=121)) == 1
    assert len(by_mail.messages) == 1 and AlertDelivery.objects.get().attempts == 2


@pytest.mark.django_db
def test_a_flapping_count_sends_one_alert_per_cooldown_and_the_last_one_is_true(by_mail, settings,
                                                                                camera_with_key):
    settings.ALERT_COOLDOWN_S = 300
    camera, _ = camera_with_key()  # critical 3, window 1
    for count in (10, 2, 12, 2, 12):  # CRITICAL, recovered, CRITICAL, recovered
        frame_record(camera=camera, result=result(count))
        flush_alerts()
    assert subjects(by_mail) == ["[Inventory] Dock 1: stock CRITICAL (2 left)"]
    first = AlertDelivery.objects.order_by("id").first()
    # After the cooldown: one alert, saying where the stock is now; the ones in between are superseded.
    assert alerts_deliver_due(now=first.created_at + timedelta(seconds=299)) == 0
    assert alerts_deliver_due(now=first.created_at + timedelta(seconds=300)) == 1
    assert subjects(by_mail)[1:] == ["[Inventory] Dock 1: stock recovered (WARNING)"]
    assert list(AlertDelivery.objects.order_by("id").values_list("status", "state")) == [
        ("CRITICAL", State.SENT), ("WARNING", State.SUPERSEDED), ("CRITICAL", State.SUPERSEDED),
        ("WARNING", State.SENT)]


@pytest.mark.django_db
def test_the_cooldown_holds_when_a_burst_is_written_before_anything_is_sent(by_mail, settings, camera_with_key):
    # The sender may lag behind the frames (busy, or its channel down): the cooldown must not depend on it.
    settings.ALERT_COOLDOWN_S = 300
    camera, _ = camera_with_key()
    for count in (10, 2, 12, 2, 12, 2):  # CRITICAL, recovered, CRITICAL, recovered, CRITICAL
        frame_record(camera=camera, result=result(count))
    flush_alerts()
    assert subjects(by_mail) == ["[Inventory] Dock 1: stock CRITICAL (2 left)"]
    first = AlertDelivery.objects.order_by("id").first()
    assert alerts_deliver_due(now=first.created_at + timedelta(seconds=301)) == 0  # still CRITICAL: nothing new
    assert list(AlertDelivery.objects.values_list("state", flat=True).distinct().order_by("state")) == [
        State.SENT, State.SUPERSEDED]


@pytest.mark.django_db
def test_the_cooldown_never_holds_back_an_offline_or_fault_alert(by_mail, settings, camera_with_key):
    from detection.stock.offline import cameras_check_offline
    from devices.models import Camera

    settings.ALERT_COOLDOWN_S = 300
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(2))  # CRITICAL: sent
    flush_alerts()
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now() - timedelta(hours=1))
    cameras_check_offline()
    flush_alerts()
    assert subjects(by_mail) == ["[Inventory] Dock 1: stock CRITICAL (2 left)", "[Inventory] Dock 1: camera OFFLINE"]


@pytest.mark.django_db(transaction=True)
def test_shutdown_stops_the_sender_and_leaves_unsent_alerts_for_the_next_worker(by_mail, settings, camera_with_key,
                                                                                monkeypatch):
    from detection.alerts import channels

    settings.ALERT_COOLDOWN_S = 0
    release, started = threading.Event(), threading.Event()
    real_send = channels.email_send

    def hanging_send(**kwargs) -> None:  # a mail server that stalls on the first alert
        started.set()
        release.wait(10)
        real_send(**kwargs)

    monkeypatch.setitem(channels.SENDERS, "email", hanging_send)
    camera, _ = camera_with_key()
    for count in (1, 10, 1):
        frame_record(camera=camera, result=result(count))
    assert start_alert_sender(interval_s=60)
    assert started.wait(10)
    began = time.monotonic()
    try:
        # The send under way cannot be stopped in time; all three stay in the outbox, none is lost.
        assert alerts_drain(timeout=0.2) == 3
        assert time.monotonic() - began < 2
    finally:
        release.set()
    assert wait_for(lambda: len(by_mail.messages) == 1)  # the stalled send finished and was marked
    assert wait_for(lambda: AlertDelivery.objects.filter(state=State.SENT).count() == 1)
    monkeypatch.setitem(channels.SENDERS, "email", real_send)
    assert flush_alerts() == 2  # the next worker
    assert len(set(alert_ids(by_mail))) == 3


@pytest.mark.django_db
def test_the_alert_log_page_and_admin_show_what_went_where(by_mail, settings, camera_with_key, client,
                                                           django_user_model, admin_client):
    from django.contrib.auth.models import Permission

    settings.EMAIL_PORT = free_port()
    camera, _ = camera_with_key()
    frame_record(camera=camera, result=result(1))
    flush_alerts()
    reader = django_user_model.objects.create_user("ola", password="pw-12345-long")
    client.force_login(reader)
    assert client.get("/alerts/").status_code == 403  # needs detection.view_alertdelivery
    reader.user_permissions.add(Permission.objects.get(codename="view_alertdelivery"))
    page = client.get("/alerts/").content.decode()
    row = page.split(f'id="alert-{AlertDelivery.objects.get().pk}"', 1)[1].split("</tr>", 1)[0]
    for shown in ("Dock 1", "WAITING", "CRITICAL", "E-mail", "manager@example.com", "pending",
                  "ConnectionRefusedError"):
        assert shown in row, shown
    listing = admin_client.get("/admin/detection/alertdelivery/").content.decode()
    assert "manager@example.com" in listing and "ConnectionRefusedError" in listing


@pytest.mark.django_db
def test_prune_history_deletes_old_finished_alerts_and_never_one_still_to_be_sent(camera_with_key, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.ALERT_RETENTION_DAYS = 90
    camera, _ = camera_with_key()
    now = timezone.now()

    def delivery(state: str, age_days: float) -> AlertDelivery:
        at = now - timedelta(days=age_days)
        return AlertDelivery.objects.create(
            camera=camera, created_at=at, channel="email", recipients="ops@example.com", kind="stock",
            previous_status="WARNING", status="CRITICAL", message={}, state=state, next_attempt_at=at)

    old_sent, old_failed, old_superseded = (delivery(s, 91) for s in (State.SENT, State.FAILED, State.SUPERSEDED))
    kept = [delivery(State.PENDING, 120), delivery(State.SENDING, 120), delivery(State.SENT, 89)]
    call_command("prune_history", "--batch", "2", stdout=(out := StringIO()))
    assert "Deleted 3 finished alert(s)." in out.getvalue()
    assert set(AlertDelivery.objects.values_list("pk", flat=True)) == {row.pk for row in kept}
    assert not AlertDelivery.objects.filter(pk__in=[old_sent.pk, old_failed.pk, old_superseded.pk]).exists()
