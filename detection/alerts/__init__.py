"""Alerts for people who are not looking at the dashboard: e-mail (SMTP), an AWS SNS topic, webhooks,
delivered through an outbox in the database (outbox.py) so that none is lost to a crash or a
restart. What an alert says is in messages.py, how each channel sends it in channels.py (and
webhooks.py). With no channel set an alert is still recorded (channel "none", SKIPPED); people on
shift acknowledge alerts and managers send test alerts (outbox.py, read by selectors.py)."""

from detection.alerts.messages import StockAlert, alert_needed
from detection.alerts.outbox import (
    alerts_deliver_due,
    alerts_drain,
    alerts_enqueue,
    flush_alerts,
    start_alert_sender,
)

__all__ = ["StockAlert", "alert_needed", "alerts_deliver_due", "alerts_drain", "alerts_enqueue", "flush_alerts",
           "start_alert_sender"]
