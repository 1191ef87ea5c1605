"""Low-stock alerts reach a real SMTP server (aiosmtpd) and an SNS topic (moto's server)."""

from __future__ import annotations

import json

import boto3
import pytest
from aiosmtpd.controller import Controller

from detection.alerts import alert_needed, flush_alerts
from detection.detector import Detection, DetectionResult
from detection.ingest.services import frame_record
from detection.metrics import ALERTS
from detection.stock.services import stock_thresholds_update
from tests.conftest import free_port


def result(count: int) -> DetectionResult:
    return DetectionResult([Detection(i, i, i + 9, i + 9, 0.9, 0) for i in range(count)], 640, 480, 5.0)


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield inbox
    controller.stop()


def sent(camera, counts, capture) -> None:
    """Record frames, then deliver the outbox as a worker's sender would (none runs in tests)."""
    for n in counts:
        with capture(execute=True):
            frame_record(camera=camera, result=result(n))
    flush_alerts()


@pytest.mark.parametrize(
    "previous,status,expected",
    [("WARNING", "CRITICAL", True), ("WAITING", "CRITICAL", True), ("CRITICAL", "WARNING", True),
     ("CRITICAL", "FULL", True), ("WARNING", "FULL", False), ("CRITICAL", "CRITICAL", False),
     ("WAITING", "WARNING", False)],
)
def test_only_critical_transitions_alert(previous, status, expected):
    assert alert_needed(previous, status) is expected


@pytest.mark.django_db
def test_entering_and_leaving_critical_emails_the_managers(smtp_server, settings, camera_with_key,
                                                           django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = ["manager@example.com", "night-shift@example.com"]
    settings.ALERT_COOLDOWN_S = 0  # the cooldown has its own tests (test_outbox.py)
    camera, _ = camera_with_key()  # critical 3, target 15, window 1
    sent_before = ALERTS.labels("email", "sent")._value.get()
    sent(camera, [10, 2, 1, 12, 20], django_capture_on_commit_callbacks)
    assert ALERTS.labels("email", "sent")._value.get() == sent_before + 2
    subjects = [m.content.decode().split("Subject: ", 1)[1].split("\n", 1)[0].strip() for m in smtp_server.messages]
    assert subjects == ["[Inventory] Dock 1: stock CRITICAL (2 left)", "[Inventory] Dock 1: stock recovered (WARNING)"]
    assert smtp_server.messages[0].rcpt_tos == ["manager@example.com", "night-shift@example.com"]
    assert "Critical level: 3" in smtp_server.messages[0].content.decode()


@pytest.mark.django_db
def test_raising_the_critical_level_over_the_count_alerts_too(smtp_server, settings, camera_with_key,
                                                              django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = ["manager@example.com"]
    camera, _ = camera_with_key()
    sent(camera, [8], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        stock_thresholds_update(camera=camera, critical_level=10, target_capacity=30)
    sent(camera, [], django_capture_on_commit_callbacks)
    assert len(smtp_server.messages) == 1
    assert "CRITICAL (8 left)" in smtp_server.messages[0].content.decode()


@pytest.mark.django_db
def test_a_dead_mail_server_does_not_lose_the_frame(settings, camera_with_key, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.ALERT_EMAILS = ["manager@example.com"]
    camera, _ = camera_with_key()
    failed_before = ALERTS.labels("email", "failed")._value.get()
    sent(camera, [1], django_capture_on_commit_callbacks)
    assert camera.events.get().status == "CRITICAL"
    assert ALERTS.labels("email", "failed")._value.get() == failed_before + 1  # /metrics tells the operator


@pytest.fixture
def moto_sns(settings, moto_endpoint):
    endpoint = moto_endpoint
    sns = boto3.client("sns", region_name="eu-west-1", endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name="eu-west-1", endpoint_url=endpoint)
    topic = sns.create_topic(Name="stock-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="pager")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    settings.ALERT_SNS_TOPIC_ARN, settings.AWS_REGION, settings.AWS_ENDPOINT_URL = topic, "eu-west-1", endpoint
    return sqs, queue_url


@pytest.mark.django_db
def test_critical_stock_is_published_to_the_sns_topic(moto_sns, camera_with_key, django_capture_on_commit_callbacks):
    sqs, queue_url = moto_sns
    camera, _ = camera_with_key()
    sent(camera, [9, 0], django_capture_on_commit_callbacks)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    notes = [json.loads(m["Body"]) for m in messages]
    assert [n["Subject"] for n in notes] == ["[Inventory] Dock 1: stock CRITICAL (0 left)"]
    assert notes[0]["MessageAttributes"]["camera"]["Value"] == "dock-1"
    # The outbox row's id travels with it, so a subscriber can drop a repeat after a crash.
    from detection.alerts.models import AlertDelivery

    row = AlertDelivery.objects.get(channel="sns", status="CRITICAL")
    assert notes[0]["MessageAttributes"]["alert_id"]["Value"] == str(row.pk) and row.state == "SENT"


@pytest.mark.django_db
def test_a_camera_fault_alerts_once_then_its_end_once_and_never_as_low_stock(smtp_server, settings, camera_with_key,
                                                                              django_capture_on_commit_callbacks):
    from detection.detector import ImageHealth

    settings.ALERT_EMAILS = ["manager@example.com"]
    camera, _ = camera_with_key()  # critical 3, target 15, window 1

    def frame(count: int, brightness: float, fingerprint: str) -> DetectionResult:
        seen = result(count)
        seen.health = ImageHealth(brightness=brightness, contrast=40.0 if brightness > 50 else 1.0, width=1280,
                                  height=720, fingerprint=fingerprint)
        return seen

    # A covered lens reads as 0 packages: without the fault that was "stock CRITICAL (0 left)".
    frames = [frame(10, 120, "a"), frame(0, 2, "b"), frame(0, 2, "b"), frame(0, 2, "b"), frame(10, 120, "c")]
    for seen in frames:
        with django_capture_on_commit_callbacks(execute=True):
            frame_record(camera=camera, result=seen)
    flush_alerts()
    subjects = [m.content.decode().split("Subject: ", 1)[1].split("\n", 1)[0].strip() for m in smtp_server.messages]
    assert len(subjects) == 2, subjects
    assert subjects[0].startswith("[Inventory] Dock 1: camera FAULT (Image too dark")
    assert subjects[1] == "[Inventory] Dock 1: camera working again (WARNING)"
    assert "not counted as stock" in smtp_server.messages[0].content.decode()
