"""Alerts for people who are not looking at the dashboard, by e-mail (SMTP) and/or an AWS SNS topic
(SMS, e-mail, chat webhooks): a camera's stock enters or leaves CRITICAL, the camera goes
OFFLINE (no frame or heartbeat within its timeout) and comes back, or its frames cannot be counted
(FAULT: too dark, uniform, small or frozen) and then can again.

Sent from a single background thread after the ingest transaction commits, so a slow mail server
never delays a camera's answer; a failed send is logged and never loses the frame.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

from inventory_monitor import metrics

logger = logging.getLogger(__name__)
_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stock-alerts")
_queued: set[Future] = set()  # not yet delivered; dropped on shutdown when time runs out
_queued_lock = threading.Lock()


@dataclass(frozen=True)
class StockAlert:
    camera_slug: str
    camera_name: str
    location: str
    previous_status: str
    status: str
    smoothed_count: int | None
    critical_level: int
    target_capacity: int
    reason: str = ""  # FAULT: why the camera's frames cannot be counted

    def subject(self) -> str:
        if self.status == "OFFLINE":
            return f"[Inventory] {self.camera_name}: camera OFFLINE"
        if self.previous_status == "OFFLINE":
            return f"[Inventory] {self.camera_name}: camera back online ({self.status})"
        if self.status == "FAULT":
            return f"[Inventory] {self.camera_name}: camera FAULT ({self.reason})"
        if self.previous_status == "FAULT":
            return f"[Inventory] {self.camera_name}: camera working again ({self.status})"
        if self.previous_status == "CRITICAL":
            return f"[Inventory] {self.camera_name}: stock recovered ({self.status})"
        return f"[Inventory] {self.camera_name}: stock CRITICAL ({self.smoothed_count} left)"

    def body(self) -> str:
        where = f" at {self.location}" if self.location else ""
        lines = [f"Camera {self.camera_name} ({self.camera_slug}){where} changed from {self.previous_status} "
                 f"to {self.status}."]
        if self.status == "OFFLINE":
            lines.append("No frame or heartbeat arrived within its offline timeout: the stock level shown is stale.")
        if self.status == "FAULT":
            lines.append(f"Its frames cannot be counted: {self.reason}. They are not counted as stock; the level "
                         "shown is the last good reading. Check the camera (lens, light, focus, stream).")
        if self.previous_status == "FAULT":
            lines.append(f"Its frames can be counted again (the fault was: {self.reason}).")
        lines += [f"Current count (smoothed): {self.smoothed_count}",
                  f"Critical level: {self.critical_level}   Target capacity: {self.target_capacity}"]
        return "\n".join(lines) + "\n"


def alert_needed(previous_status: str, status: str) -> bool:
    """Only transitions into or out of CRITICAL page someone; WARNING <-> FULL does not."""
    return previous_status != status and "CRITICAL" in (previous_status, status)


def stock_alert_send(alert: StockAlert) -> Future | None:
    """Queue the alert on the background sender; returns the future (tests wait on it)."""
    if not (settings.ALERT_EMAILS or settings.ALERT_SNS_TOPIC_ARN):
        return None
    future = _sender.submit(_deliver, alert)
    with _queued_lock:
        _queued.add(future)
    future.add_done_callback(_delivered)
    return future


def _delivered(future: Future) -> None:
    with _queued_lock:
        _queued.discard(future)


def flush_alerts(timeout: float = 30) -> None:
    """Wait until every queued alert is delivered (one worker: a no-op job runs after them)."""
    _sender.submit(lambda: None).result(timeout=timeout)


def alerts_drain(timeout: float) -> int:
    """On shutdown: deliver what is queued for up to `timeout` seconds, drop the rest (logged).

    Returns how many were dropped. One send already under way cannot be stopped; it ends within
    EMAIL_TIMEOUT_S, and the server's shutdown watchdog bounds the wait anyway.
    """
    try:
        flush_alerts(timeout=timeout)
        return 0
    except TimeoutError:
        with _queued_lock:
            queued = list(_queued)
        dropped = sum(future.cancel() for future in queued)
        if dropped:
            logger.error("shutting down: %d queued alerts dropped undelivered", dropped)
        return dropped


def _deliver(alert: StockAlert) -> None:
    if settings.ALERT_EMAILS:
        try:
            send_mail(alert.subject(), alert.body(), settings.DEFAULT_FROM_EMAIL, settings.ALERT_EMAILS)
            metrics.alert_delivered(channel="email", ok=True)
        except Exception:  # SMTP down: log, keep serving
            metrics.alert_delivered(channel="email", ok=False)
            logger.exception("stock alert e-mail for %s failed", alert.camera_slug)
    if settings.ALERT_SNS_TOPIC_ARN:
        try:
            import boto3

            boto3.client("sns", region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL or None).publish(
                TopicArn=settings.ALERT_SNS_TOPIC_ARN, Subject=alert.subject()[:100], Message=alert.body(),
                MessageAttributes={"status": {"DataType": "String", "StringValue": alert.status},
                                   "camera": {"DataType": "String", "StringValue": alert.camera_slug}},
            )
            metrics.alert_delivered(channel="sns", ok=True)
        except Exception:
            metrics.alert_delivered(channel="sns", ok=False)
            logger.exception("stock alert SNS publish for %s failed", alert.camera_slug)
