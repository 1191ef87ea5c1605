"""Delivering one alert by one channel. Each sender raises on failure (the outbox retries) and
carries the alert's id, so a receiver that gets a repeat (a worker killed between a send and its
mark) can drop it."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from detection.alerts.messages import StockAlert

ALERT_ID_HEADER = "X-Inventory-Alert-Id"


def email_send(*, alert: StockAlert, alert_id: int, recipients: str) -> None:
    body = alert.body() + f"Alert id: {alert_id}\n"
    EmailMessage(alert.subject(), body, settings.DEFAULT_FROM_EMAIL, recipients.split(","),
                 headers={ALERT_ID_HEADER: str(alert_id)}).send(fail_silently=False)


def sns_send(*, alert: StockAlert, alert_id: int, recipients: str) -> None:
    import boto3
    from botocore.config import Config

    timeout = Config(connect_timeout=settings.EMAIL_TIMEOUT, read_timeout=settings.EMAIL_TIMEOUT,
                     retries={"max_attempts": 1})
    client = boto3.client("sns", region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL or None,
                          config=timeout)
    client.publish(
        TopicArn=recipients, Subject=alert.subject()[:100], Message=alert.body() + f"Alert id: {alert_id}\n",
        MessageAttributes={"status": {"DataType": "String", "StringValue": alert.status},
                           "camera": {"DataType": "String", "StringValue": alert.camera_slug},
                           "alert_id": {"DataType": "String", "StringValue": str(alert_id)}},
    )


def webhook_send(*, alert: StockAlert, alert_id: int, webhook) -> None:
    from detection.alerts.webhooks import payload, webhook_post

    if webhook is None:
        raise RuntimeError("the webhook was deleted after this alert was written")
    webhook_post(url=webhook.url, body=payload(alert=alert, alert_id=alert_id, style=webhook.style),
                 alert_id=alert_id, secret=webhook.secret)


SENDERS = {"email": email_send, "sns": sns_send}
